"""Survey exports come in through a mapping: ``import FILE --map kobo|odk|FILE.yaml``.

The files here are built as KoboToolbox and ODK Central write them: group paths in
the headers, answers as labels in Vietnamese, Spanish and French, select_multiple
answers separated by spaces, GPS points, the tools' own metadata columns, ';' as
KoboToolbox's delimiter, and a media zip laid out as each tool lays it out.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_cli import FAST_INIT

from conftest import PASSPHRASE, Backend, sample_records
from vault import InvalidInputError, NotFoundError, Vault
from vault.cli import cli
from vault.mapping import find_mapping, parse_mapping, shipped_mappings

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 2
UUIDS = [f"0d4c3a2e-5b1f-4c2d-9e8f-00000000000{n}" for n in range(1, 4)]

KOBO_HEADER = [
    "start",
    "end",
    "today",
    "deviceid",
    "site_id",
    "interviewer",
    "worker/name",
    "worker/nickname",
    "worker/phone",
    "worker/gender",
    "worker/birth_year",
    "worker/nationality",
    "worker/migrant",
    "worker/union_member",
    "worker/years_at_site",
    "worker/location",
    "_worker/location_latitude",
    "_worker/location_longitude",
    "_worker/location_altitude",
    "_worker/location_precision",
    "testimony/allegations",
    "testimony/allegations/wages",
    "testimony/allegations/working_hours",
    "testimony/persons_mentioned",
    "testimony/narrative",
    "consent/agreed",
    "consent/share_with",
    "consent/recorded_on",
    "risk/retaliation",
    "evidence/photo",
    "evidence/photo_URL",
    "evidence/recording",
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
    "_index",
]
NARRATIVE_VI = 'Chị Lan kể rằng quản đốc "không trả" lương tăng ca;\nanh Bảo, tổ trưởng, giữ sổ.'
KOBO_ANSWERS: list[dict[str, str]] = [
    {
        "start": "2024-03-05T09:00:00.000+07:00",
        "today": "2024-03-05",
        "site_id": "SITE-003",
        "interviewer": "enum-7",
        "worker/name": "Nguyễn Thị Lan",
        "worker/nickname": "Chị Hai; Lan béo",
        "worker/phone": "+84 912 000 111",
        "worker/gender": "Nữ",
        "worker/birth_year": "1993",
        "worker/nationality": "Việt Nam",
        "worker/migrant": "Không",
        "worker/union_member": "Có",
        "worker/years_at_site": "4",
        "worker/location": "21.0278123 105.8341987 12.5 4.8",
        "_worker/location_latitude": "21.0278123",
        "_worker/location_longitude": "105.8341987",
        "_worker/location_altitude": "12.5",
        "_worker/location_precision": "4.8",
        "testimony/allegations": "Tiền lương Giờ làm việc",
        "testimony/allegations/wages": "1",
        "testimony/allegations/working_hours": "1",
        "testimony/persons_mentioned": "Trần Văn Bảo",
        "testimony/narrative": NARRATIVE_VI,
        "consent/agreed": "Có",
        "consent/share_with": "Công đoàn Tổ chức giám sát",
        "consent/recorded_on": "2024-03-05",
        "risk/retaliation": "Cao",
        "evidence/photo": "1709600000123.jpg",
        "evidence/photo_URL": "https://kc.example.org/media/original?media_file=x",
        "evidence/recording": "interview 09_30_12.m4a",
        "_id": "101",
        "_uuid": UUIDS[0],
        "_submission_time": "2024-03-05T02:31:00",
        "_status": "submitted_via_web",
        "_submitted_by": "enum7",
        "__version__": "vJ8b",
        "_tags": "[]",
        "_notes": "[]",
        "_index": "1",
    },
    {
        "site_id": "SITE-001",
        "worker/name": "María López",
        "worker/gender": "Mujer",
        "worker/birth_year": "1988",
        "worker/nationality": "México",
        "worker/migrant": "Sí",
        "worker/union_member": "No",
        "testimony/allegations": "Trabajo forzoso Acoso",
        "testimony/narrative": "El supervisor dijo: «no pagaremos», y cerró la puerta.",
        "consent/share_with": "Sindicato",
        "risk/retaliation": "Medio",
        "evidence/photo": "foto.jpg",
        "_id": "102",
        "_uuid": UUIDS[1],
        "_submission_time": "2024-03-06T11:00:00",
        "_index": "2",
    },
    {
        "site_id": "SITE-004",
        "worker/name": "Élise Martin",
        "worker/gender": "Homme ",
        "worker/nationality": "FR",
        "worker/migrant": "Non",
        "worker/union_member": "Oui",
        "testimony/allegations": "Salaires Heures de travail Liberté syndicale",
        "testimony/narrative": "Le chef d'équipe a dit que les heures ne seraient pas payées.",
        "consent/share_with": "Syndicat Acheteurs",
        "risk/retaliation": "Élevé",
        "_id": "103",
        "_uuid": UUIDS[2],
        "_submission_time": "2024-03-07T16:45:10",
        "_index": "3",
    },
]


def _write_csv(
    path: Path,
    header: list[str],
    answers: list[dict[str, str]],
    *,
    delimiter: str = ";",
    encoding: str = "utf-8-sig",
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in answers:
        writer.writerow([row.get(column, "") for column in header])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


BASE = "enum7/attachments/a1b2c3d4e5f6"


def _kobo_media(
    tmp_path: Path, *extra: tuple[str, bytes], photo: str = f"{BASE}/{UUIDS[0]}"
) -> Path:
    """The media zip KoboToolbox exports: user/attachments/<form>/<_uuid>/<name>
    (the first submission's photo under ``photo``)."""
    archive = tmp_path / "media.zip"
    base = BASE
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{photo}/1709600000123.jpg", JPEG)
        # Saved by the server with its spaces as underscores.
        zf.writestr(f"{base}/{UUIDS[0]}/interview_09_30_12.m4a", b"audio" * 100)
        zf.writestr(f"{base}/{UUIDS[1]}/foto.jpg", JPEG[::-1])
        # Another submission's file of the same name must not be taken for it.
        zf.writestr(f"{base}/{UUIDS[2]}/foto.jpg", JPEG)
        for name, data in extra:
            zf.writestr(name, data)
    return archive


def _sites(v: Vault) -> None:
    v.import_records([r for r in sample_records() if r["type"] == "site"])


def test_a_kobo_export_and_its_media_zip_come_in_together(vault: Vault, tmp_path: Path) -> None:
    _sites(vault)
    path = _write_csv(tmp_path / "kobo.csv", KOBO_HEADER, KOBO_ANSWERS)
    media = _kobo_media(tmp_path)
    assert vault.check_import(path, mapping="kobo", files=media).ok
    assert vault.import_file(path, mapping="kobo", files=media).by_type == {"testimony": 3}
    assert vault.get(UUIDS[0], identity=True) == {
        "type": "testimony",
        "id": UUIDS[0],
        "site_id": "SITE-003",
        "received_on": "2024-03-05",
        "channel": "survey",
        "worker": {
            "name": "Nguyễn Thị Lan",
            "phone": "+84 912 000 111",
            "location": {"lat": 21.0278123, "lon": 105.8341987, "precision": 4.8},
            "aliases": ["Chị Hai", "Lan béo"],
            "gender": "female",
            "birth_year": 1993,
            "nationality": "VN",
            "migrant": False,
            "union_member": True,
        },
        "persons_mentioned": [{"name": "Trần Văn Bảo"}],
        "allegations": ["wages", "working_hours"],
        "narrative": NARRATIVE_VI,
        "consent": {"share_with": ["union", "monitor"], "recorded_on": "2024-03-05"},
        "risk": {"retaliation": "high"},
    }
    spanish = vault.get(UUIDS[1], identity=True)
    assert spanish["worker"]["gender"] == "female"
    assert (spanish["worker"]["migrant"], spanish["worker"]["union_member"]) == (True, False)
    assert spanish["allegations"] == ["forced_labour", "harassment"]
    assert "location" not in spanish["worker"]
    french = vault.get(UUIDS[2], identity=True)
    assert french["worker"]["gender"] == "male"
    assert french["allegations"] == ["wages", "working_hours", "freedom_of_association"]
    assert french["consent"]["share_with"] == ["union", "buyers"]
    assert french["risk"]["retaliation"] == "high"
    # Each file went to its own submission: the photo of the same name under another
    # submission's folder did not.
    assert sorted(f.size for f in vault.attachments(UUIDS[0])) == [500, len(JPEG)]
    (mine,) = vault.attachments(UUIDS[1])
    out = tmp_path / "out.jpg"
    vault.extract(mine.id, out)
    assert out.read_bytes() == JPEG[::-1]
    assert vault.attachments(UUIDS[2]) == []


ODK_HEADER = [
    "SubmissionDate",
    "start",
    "end",
    "site_id",
    "worker-name",
    "worker-gender",
    "worker-birth_year",
    "worker-location-Latitude",
    "worker-location-Longitude",
    "worker-location-Altitude",
    "worker-location-Accuracy",
    "testimony-allegations",
    "testimony-narrative",
    "consent-share_with",
    "evidence-photo",
    "meta-instanceID",
    "KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
]


def test_an_odk_central_export_with_its_media(vault: Vault, tmp_path: Path) -> None:
    _sites(vault)
    answers = [
        {
            "SubmissionDate": "2024-04-02T23:10:05.123Z",
            "site_id": "SITE-002",
            "worker-name": "Somchai",
            "worker-gender": "male",
            "worker-birth_year": "1990",
            "worker-location-Latitude": "14.3532",
            "worker-location-Longitude": "100.5684",
            "worker-location-Altitude": "3.2",
            "worker-location-Accuracy": "8.1",
            "testimony-allegations": "wages health_safety",
            "testimony-narrative": "He said the line never stops.",
            "consent-share_with": "union",
            "evidence-photo": "1712099400001.jpg",
            "meta-instanceID": "uuid:7f3e1c2a-0000-4000-8000-000000000001",
            "KEY": "uuid:7f3e1c2a-0000-4000-8000-000000000001",
            "SubmitterName": "enumerator 3",
            "AttachmentsPresent": "1",
            "AttachmentsExpected": "1",
            "ReviewState": "approved",
            "Edits": "0",
        }
    ]
    path = _write_csv(tmp_path / "odk.csv", ODK_HEADER, answers, delimiter=",", encoding="utf-8")
    media = tmp_path / "odk.zip"
    with zipfile.ZipFile(media, "w") as zf:
        zf.writestr("odk.csv", path.read_bytes())
        zf.writestr("media/1712099400001.jpg", JPEG)
    assert vault.import_file(path, mapping="odk", files=media).count == 1
    record = vault.get("uuid:7f3e1c2a-0000-4000-8000-000000000001", identity=True)
    assert record["received_on"] == "2024-04-02"
    assert record["worker"]["location"] == {"lat": 14.3532, "lon": 100.5684, "precision": 8.1}
    assert record["allegations"] == ["wages", "health_safety"]
    assert len(vault.attachments(record["id"])) == 1


def test_a_mapping_extends_a_preset_for_a_form_of_its_own(vault: Vault, tmp_path: Path) -> None:
    _sites(vault)
    mapping = tmp_path / "our-form.yaml"
    mapping.write_text(
        """
description: Our 2024 survey, questions named in Spanish
extends: kobo
set: {language: es, site_id: SITE-001}           # one site: its column is ignored
columns:
  datos/genero: worker.gender
  today: {field: received_on, format: iso}     # the interview's own date, not the upload
  datos/fecha_nacimiento: {field: worker.birth_year, format: "%d/%m/%Y"}
values:
  worker.gender:
    female: [Feminino]                         # Portuguese, added to the preset's answers
ignore: [datos/talla_camisa]
""",
        encoding="utf-8",
    )
    header = ["today", "site_id", "datos/genero", "datos/fecha_nacimiento", "datos/talla_camisa"]
    header += ["_uuid", "_submission_time", "testimony/narrative"]
    answers = [
        {
            "today": "2024-02-28",
            "site_id": "SITE-002",
            "datos/genero": "Feminino",
            "datos/fecha_nacimiento": "17/06/1991",
            "datos/talla_camisa": "M",
            "_uuid": UUIDS[0],
            "_submission_time": "2024-03-09T08:00:00",
            "testimony/narrative": "Relato.",
        }
    ]
    path = _write_csv(tmp_path / "ours.csv", header, answers)
    assert vault.import_file(path, mapping=mapping).count == 1
    record = vault.get(UUIDS[0], identity=True)
    assert record["received_on"] == "2024-02-28"
    assert (record["language"], record["site_id"]) == ("es", "SITE-001")
    assert record["worker"] == {"gender": "female", "birth_year": 1991}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "set: {type: testimony}\ncolour: red\n",
            r"m\.yaml:line 2: colour: unknown key; use description",
        ),
        (
            "set: {type: testimony}\ncolumns:\n  q1: worker.shoe_size\n",
            r"m\.yaml:line 3: columns\.q1: 'worker\.shoe_size' is not a field of a testimony",
        ),
        (
            "set: {type: testimony}\ncolumns:\n  q1: {field: narrative, splitt: ' '}\n",
            r"m\.yaml:line 3: columns\.q1\.splitt: unknown key; use field, split, format",
        ),
        (
            "set: {type: testimony}\nvalues:\n  worker.gender:\n    woman: [Nữ]\n",
            r"m\.yaml:line 4: values\.worker\.gender\.woman: is not a code of 'worker\.gender': use female",
        ),
        (
            "set: {type: testimony}\nvalues:\n  worker.gender:\n    female: [Nữ]\n    male: [nữ]\n",
            r"m\.yaml:line 5: values\.worker\.gender\.male: an answer listed here is listed under 'female' too",
        ),
        (
            "set: {type: testimony}\nvalues:\n  narrative: {x: [y]}\n",
            r"values\.narrative: 'narrative' takes no value map",
        ),
        (
            "set: {type: testimony}\ncolumns:\n  q: {field: worker.gender, split: ' '}\n",
            r"columns\.q\.split: 'worker\.gender' is not a list of answers",
        ),
        (
            "set: {type: testimony}\ncolumns:\n  q: {field: received_on, format: 'dd/mm'}\n",
            r"columns\.q\.format: must be iso or a strptime format",
        ),
        (
            "set: {type: testimony}\ncolumns:\n  alt: worker.location.alt\n",
            r"the altitude is not kept",
        ),
        ("set: {type: testimony}\nset: {type: site}\n", r"m\.yaml:line 2: set: appears twice"),
        ("set: {type: testimony\n", r"m\.yaml:line 2: malformed YAML"),
        (
            "extends: surveymonkey\nset: {type: site}\n",
            r"extends: no shipped mapping of that name; use kobo, odk",
        ),
        ("columns: {q: narrative}\n", r"set\.type: is required \(or map a column to 'type'\)"),
        (
            "set: {type: testimony, channel: carrier-pigeon}\n",
            r"set\.channel: field 'channel': the mapping gives no code",
        ),
        ("set: {type: testimony}\nignore: x\n", r"m\.yaml:line 2: ignore: must be a list"),
        (
            "set: {type: testimony}\ncolumns: {a: narrative, b: narrative}\n",
            r"columns\.b: field 'narrative' is given by column 'a' already",
        ),
        ("a: &a [*a, *a]\n", r"m\.yaml"),
    ],
)
def test_a_bad_mapping_is_one_line_naming_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        parse_mapping(text, "m.yaml")
    assert "\n" not in str(caught.value)


def test_a_billion_laughs_mapping_is_refused_small() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    with pytest.raises(InvalidInputError, match="too large or nested too deep"):
        parse_mapping("\n".join(lines) + "\n", "bomb.yaml")


def test_the_readme_mapping_example_is_valid() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("# our-form.yaml\n", 1)[1].split("```", 1)[0]
    mapping = parse_mapping(example, "our-form.yaml")
    assert mapping.fixed["site_id"] == "SITE-001"
    assert mapping.rules["datos/gps"].field == "worker.location"


def test_presets_are_shipped_commented_and_found_by_name() -> None:
    assert set(shipped_mappings()) == {"kobo", "odk"}
    for name, text in shipped_mappings().items():
        assert text.startswith("# Mapping:"), name
        assert find_mapping(name).record_type == "testimony"
    with pytest.raises(NotFoundError, match="shipped one: kobo, odk"):
        find_mapping("surveymonkey")


def test_columns_the_mapping_does_not_name_stop_at_the_header(vault: Vault, tmp_path: Path) -> None:
    header = [*KOBO_HEADER, "worker_info/shoe_size", "grp/q2"]
    path = _write_csv(tmp_path / "kobo.csv", header, KOBO_ANSWERS)
    with pytest.raises(InvalidInputError) as caught:
        vault.import_file(path, mapping="kobo", files=_kobo_media(tmp_path))
    assert str(caught.value).startswith(
        f"{path}:line 1: vault/mappings/kobo.yaml does not map the columns "
        "'worker_info/shoe_size', 'grp/q2'; name each under columns, files or ignore"
    )
    assert vault.stats() == {}


def test_check_lists_every_bad_row_with_its_field_and_column(vault: Vault, tmp_path: Path) -> None:
    _sites(vault)
    answers = [dict(a) for a in KOBO_ANSWERS]
    answers[0]["worker/gender"] = "Mystère"
    answers[0]["worker/location"] = "21.0278123"
    answers[1]["_submission_time"] = "yesterday"
    answers[2]["testimony/allegations"] = "Salaires Licenciement"
    answers[2]["site_id"] = "SITE-NONE"
    path = _write_csv(tmp_path / "kobo.csv", KOBO_HEADER, answers)
    report = vault.check_import(path, mapping="kobo", files=_kobo_media(tmp_path))
    assert [(p.line, p.field, p.column) for p in report.problems] == [
        (3, "worker.gender", "worker/gender"),
        (4, "received_on", "_submission_time"),
        (5, "allegations", "testimony/allegations"),
    ]
    for problem in report.problems:
        for value in ("Mystère", "yesterday", "Licenciement", "21.0278123"):
            assert value not in str(problem)
    assert report.problems[0].message == (
        "field 'worker.gender': the mapping gives no code for this answer; "
        "add it under values.worker.gender (column 'worker/gender')"
    )
    # Once the answers are mapped, the row's next fault is found: the GPS point.
    answers[0]["worker/gender"] = "Nữ"
    answers[1]["_submission_time"] = "2024-03-06T11:00:00"
    answers[2]["testimony/allegations"] = "Salaires"
    _write_csv(path, KOBO_HEADER, answers)
    report = vault.check_import(path, mapping="kobo", files=_kobo_media(tmp_path))
    assert [(p.line, p.field, p.column) for p in report.problems] == [
        (3, "worker.location", "worker/location"),
        (5, "site_id", None),
    ]


def test_file_columns_need_the_media(vault: Vault, tmp_path: Path) -> None:
    _sites(vault)
    path = _write_csv(tmp_path / "kobo.csv", KOBO_HEADER, KOBO_ANSWERS)
    with pytest.raises(
        InvalidInputError,
        match=r"kobo\.csv:line 3: column 'evidence/photo' names an evidence file: pass the survey's media folder or zip with --media",
    ):
        vault.import_file(path, mapping="kobo")
    assert vault.stats() == {"site": 4}


def test_a_repeated_column_is_refused_only_where_it_is_mapped(vault: Vault, tmp_path: Path) -> None:
    _sites(vault)
    answers = [{**KOBO_ANSWERS[1], "evidence/photo": ""}]
    header = [*KOBO_HEADER, "_notes", ""]  # a metadata column twice, an unnamed one
    path = _write_csv(tmp_path / "kobo.csv", header, answers)
    assert vault.import_file(path, mapping="kobo").count == 1
    _write_csv(path, [*KOBO_HEADER, "worker/gender"], answers)
    report = vault.check_import(path, mapping="kobo")
    assert [str(p) for p in report.problems] == [
        f"{path}:line 1: the header repeats the column 'worker/gender', which "
        "vault/mappings/kobo.yaml maps"
    ]


MEDIA_REFUSALS = [
    # A member named outside the archive, found by its name: refused, not read.
    (f"../{UUIDS[0]}", "member 1 of media.zip is named outside the archive"),
    (f"/{UUIDS[0]}", "member 1 of media.zip is named outside the archive"),
    # Two files end with the same submission folder and name: never guessed.
    (
        f"{BASE}/copy/{UUIDS[0]}",
        "2 files in media.zip have that name; name the file by its path in the archive",
    ),
    # The file is not in its submission's folder: another's is not taken instead.
    (f"{BASE}/{UUIDS[2]}", "no such file in media.zip"),
]


def test_media_names_are_looked_up_never_followed(sqlite_backend: Backend, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "kobo.csv", KOBO_HEADER, KOBO_ANSWERS)
    with sqlite_backend.create() as v:
        _sites(v)
        for photo, message in MEDIA_REFUSALS:
            extra = [(f"{BASE}/{UUIDS[0]}/1709600000123.jpg", JPEG)] if "copy" in photo else []
            media = _kobo_media(tmp_path, *extra, photo=photo)
            report = v.check_import(path, mapping="kobo", files=media)
            assert [str(p) for p in report.problems] == [
                f"{path}:line 3: field 'attachments' item 1: {message}"
            ], photo
        outside = _kobo_media(tmp_path, photo=f"../{UUIDS[0]}")
        with pytest.raises(InvalidInputError, match="named outside the archive"):
            v.import_file(path, mapping="kobo", files=outside)
        # A zip bomb: a member that would expand more than 100-fold is never read.
        media = tmp_path / "bomb.zip"
        with zipfile.ZipFile(media, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"u/attachments/f/{UUIDS[0]}/1709600000123.jpg", JPEG)
            zf.writestr(f"u/attachments/f/{UUIDS[0]}/interview_09_30_12.m4a", bytes(3 * 2**20))
        report = v.check_import(path, mapping="kobo", files=media)
        assert [(p.line, p.message) for p in report.problems] == [
            (3, "field 'attachments' item 2: member 2 of bomb.zip expands more than 100-fold"),
            (4, "field 'attachments' item 1: no such file in bomb.zip"),
        ]
        assert v.stats() == {"site": 4}


def test_the_command_line_lists_maps_and_imports_with_media(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["import", "--map", "list"])
    assert listed.exit_code == 0, listed.output
    assert [line.split()[0] for line in listed.output.splitlines()] == ["kobo", "odk"]
    helped = runner.invoke(cli, ["import", "--help"])
    assert "kobo, odk" in helped.output
    assert "--media" in helped.output
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    sites = tmp_path / "sites.jsonl"
    sites.write_text(
        "".join(json.dumps(r) + "\n" for r in sample_records() if r["type"] == "site"),
        encoding="utf-8",
    )
    assert runner.invoke(cli, ["import", str(sites)], env=env).exit_code == 0
    answers = [dict(a) for a in KOBO_ANSWERS]
    answers[1]["worker/gender"] = "Mystère"
    path = _write_csv(tmp_path / "kobo.csv", KOBO_HEADER, answers, encoding="utf-8")
    media = str(_kobo_media(tmp_path))
    checked = runner.invoke(
        cli, ["import", str(path), "--map", "kobo", "--media", media, "--check", "--json"], env=env
    )
    assert checked.exit_code == 5, checked.output
    (problem,) = json.loads(checked.stdout)["problems"]
    assert (problem["line"], problem["field"], problem["column"]) == (
        4,
        "worker.gender",
        "worker/gender",
    )
    answers[1]["worker/gender"] = "Mujer"
    _write_csv(path, KOBO_HEADER, answers, encoding="utf-8")
    args = ["import", str(path), "--map", "kobo", "--media", media, "--delimiter", ";"]
    done = runner.invoke(cli, [*args, "--encoding", "utf-8"], env=env)
    assert done.exit_code == 0, done.output
    assert "Imported 3 records (3 testimony)." in done.output
    bad = runner.invoke(cli, ["import", str(path), "--map", "nowhere/else.yaml"], env=env)
    assert bad.exit_code == 5
    assert bad.output.count("\n") == 1

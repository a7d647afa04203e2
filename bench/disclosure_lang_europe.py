"""Czech, Spanish, French and English for the disclosure corpus (invented people).

Czech names change with their case ("s Janou Novákovou", "od pana Dvořáka"), and
some Czech surnames are adjectives (Malá, Černý, Veselá) or nouns (Král, Kovář,
Svoboda, Procházka) that the narratives also use as words; Ukrainian co-workers'
names are stored in Latin letters and written in Cyrillic. Spanish names are two
given names and two surnames, some of them words (Dolores, Rosa, Luz, Domingo,
Flores). French has compound given names, elision (d'Amélie) and surnames that are
words (Petit, Blanc, Marchand). English narratives come from a Malaysian site with
Filipino, Nepali, Bangladeshi and Malaysian Chinese names, some of them words (May,
Grace, Hope, Mark, Bill, Ram) and one written family name first (Tan Wei Ling).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from typing import ClassVar, Final

from disclosure_lang import Form, Lang, Person, ascii_only, name_pieces
from disclosure_model import number_pieces, word_pieces

CASES: Final = ("gen", "dat", "acc", "ins", "loc")


def _thousands(x: int, sep: str) -> str:
    return f"{x:,}".replace(",", sep)


# --- Czech ------------------------------------------------------------------------------


class Czech(Lang):
    code = "cs"
    country = "CZ"
    nationalities = ("CZ",)
    cc = "420"
    trunk = ""
    digit_words = ("nula", "jedna", "dva", "tři", "čtyři", "pět", "šest", "sedm", "osm", "devět")
    months = (
        "ledna",
        "února",
        "března",
        "dubna",
        "května",
        "června",
        "července",
        "srpna",
        "září",
        "října",
        "listopadu",
        "prosince",
    )
    mail_domains = ("posta.example", "schranka.example")
    eid_prefixes = ("OC", "ZAM", "EMP", "")
    # Given names: (gen, dat, acc, ins, loc); nicknames.
    GIVEN_M: ClassVar[Mapping[str, tuple[tuple[str, ...], str]]] = {
        "Jiří": (("Jiřího", "Jiřímu", "Jiřího", "Jiřím", "Jiřím"), "Jirka"),
        "Jan": (("Jana", "Janovi", "Jana", "Janem", "Janovi"), "Honza"),
        "Petr": (("Petra", "Petrovi", "Petra", "Petrem", "Petrovi"), "Péťa"),
        "Tomáš": (("Tomáše", "Tomášovi", "Tomáše", "Tomášem", "Tomášovi"), "Tom"),
        "Martin": (("Martina", "Martinovi", "Martina", "Martinem", "Martinovi"), "Marťa"),
        "Pavel": (("Pavla", "Pavlovi", "Pavla", "Pavlem", "Pavlovi"), "Pavlík"),
        "Lukáš": (("Lukáše", "Lukášovi", "Lukáše", "Lukášem", "Lukášovi"), "Luky"),
        "Karel": (("Karla", "Karlovi", "Karla", "Karlem", "Karlovi"), "Kája"),
        "Miroslav": (
            ("Miroslava", "Miroslavovi", "Miroslava", "Miroslavem", "Miroslavovi"),
            "Mirek",
        ),
    }
    GIVEN_F: ClassVar[Mapping[str, tuple[tuple[str, ...], str]]] = {
        "Jana": (("Jany", "Janě", "Janu", "Janou", "Janě"), "Janička"),
        "Petra": (("Petry", "Petře", "Petru", "Petrou", "Petře"), "Péťa"),
        "Lucie": (("Lucie", "Lucii", "Lucii", "Lucií", "Lucii"), "Lucka"),
        "Marie": (("Marie", "Marii", "Marii", "Marií", "Marii"), "Mařka"),
        "Tereza": (("Terezy", "Tereze", "Terezu", "Terezou", "Tereze"), "Terka"),
        "Květa": (("Květy", "Květě", "Květu", "Květou", "Květě"), "Květka"),
        "Hana": (("Hany", "Haně", "Hanu", "Hanou", "Haně"), "Hanka"),
        "Alena": (("Aleny", "Aleně", "Alenu", "Alenou", "Aleně"), "Alča"),
        "Zdeňka": (("Zdeňky", "Zdeňce", "Zdeňku", "Zdeňkou", "Zdeňce"), "Zdena"),
    }
    # Male surnames: (gen, dat, acc, ins, loc) and the female form.
    FAMILY: ClassVar[Mapping[str, tuple[tuple[str, ...], str]]] = {
        "Dvořák": (("Dvořáka", "Dvořákovi", "Dvořáka", "Dvořákem", "Dvořákovi"), "Dvořáková"),
        "Novák": (("Nováka", "Novákovi", "Nováka", "Novákem", "Novákovi"), "Nováková"),
        "Svoboda": (("Svobody", "Svobodovi", "Svobodu", "Svobodou", "Svobodovi"), "Svobodová"),
        "Černý": (("Černého", "Černému", "Černého", "Černým", "Černém"), "Černá"),
        "Král": (("Krále", "Královi", "Krále", "Králem", "Královi"), "Králová"),
        "Malý": (("Malého", "Malému", "Malého", "Malým", "Malém"), "Malá"),
        "Veselý": (("Veselého", "Veselému", "Veselého", "Veselým", "Veselém"), "Veselá"),
        "Kovář": (("Kováře", "Kovářovi", "Kováře", "Kovářem", "Kovářovi"), "Kovářová"),
        "Procházka": (
            ("Procházky", "Procházkovi", "Procházku", "Procházkou", "Procházkovi"),
            "Procházková",
        ),
        "Horák": (("Horáka", "Horákovi", "Horáka", "Horákem", "Horákovi"), "Horáková"),
    }
    # Ukrainian co-workers: stored in Latin letters, written in Cyrillic.
    UA_GIVEN: ClassVar[Mapping[str, Mapping[str, tuple[str, str]]]] = {
        "f": {"Olena": ("Олена", "Lena"), "Iryna": ("Ірина", "Ira"), "Oksana": ("Оксана", "Oksanka"), "Halyna": ("Галина", "Halja")},
        "m": {"Oleksandr": ("Олександр", "Saša"), "Taras": ("Тарас", "Tarasik"), "Serhii": ("Сергій", "Serjoža"), "Vasyl": ("Василь", "Vasja")},
    }  # fmt: skip
    UA_FAMILY: ClassVar[Mapping[str, str]] = {
        "Kovalenko": "Коваленко",
        "Shevchuk": "Шевчук",
        "Bondarenko": "Бондаренко",
        "Tkachenko": "Ткаченко",
        "Melnyk": "Мельник",
        "Lysenko": "Лисенко",
    }
    PAN: ClassVar[Mapping[str, str]] = {
        "gen": "pana",
        "dat": "panu",
        "acc": "pana",
        "ins": "panem",
        "loc": "panu",
    }

    def person(self, rng: random.Random, gender: str, taken: set[str]) -> Person:
        if rng.random() < 0.25:
            pool = self.UA_GIVEN[gender]
            given = self._pick(rng, tuple(pool), taken)
            family = self._pick(rng, tuple(self.UA_FAMILY), taken)
            cyr = f"{pool[given][0]} {self.UA_FAMILY[family]}"
            return Person(
                given,
                family,
                gender,
                f"{given} {family}",
                (given, family),
                {"cyrillic": cyr, "nick": pool[given][1]},
            )
        table = self.GIVEN_F if gender == "f" else self.GIVEN_M
        given = self._pick(rng, tuple(table), taken)
        male = self._pick(rng, tuple(self.FAMILY), taken)
        family_cases, female = self.FAMILY[male]
        if gender == "f":
            stem = female[:-1]  # -ová / -á: gen, dat, loc in -é; acc, ins in -ou
            family, family_cases = (
                female,
                (stem + "é", stem + "é", stem + "ou", stem + "ou", stem + "é"),
            )
        else:
            family = male
        cases = dict(zip(CASES, zip(table[given][0], family_cases, strict=True), strict=True))
        return Person(
            given,
            family,
            gender,
            f"{given} {family}",
            (given, family),
            {"cases": cases, "nick": table[given][1]},
        )

    def case_form(self, p: Person, case: str, titled: bool) -> Form | None:
        cases = p.extra.get("cases")
        if not isinstance(cases, dict):
            return None
        given, family = cases[case]
        if titled:
            title = "paní" if p.gender == "f" else self.PAN[case]
            return Form(f"{title} {family}", (family,))
        return Form(f"{given} {family}", (given, family))

    def given_form(self, p: Person, rng: random.Random) -> Form:
        if rng.random() < 0.5:
            return Form(p.given, (p.given,))
        return Form(f"{'paní' if p.gender == 'f' else 'pan'} {p.family}", (p.family,))

    def refer(self, p: Person, rng: random.Random, role: str) -> Form:
        if role == "supervisor" and rng.random() < 0.5:
            return Form(f"{'mistrová' if p.gender == 'f' else 'mistr'} {p.family}", (p.family,))
        return self.given_form(p, rng)

    def pronoun(self, p: Person) -> str:
        return "ona" if p.gender == "f" else "on"

    def pronoun2(self, p: Person) -> str:
        return "její" if p.gender == "f" else "jeho"

    def pronoun3(self, p: Person) -> str:
        return "jí" if p.gender == "f" else "mu"

    def ending(self, p: Person) -> str:
        return "a" if p.gender == "f" else ""

    def kin_relation(self, kin: Person) -> str:
        return "sestra" if kin.gender == "f" else "bratr"

    def worker_forms(self, p: Person, rng: random.Random) -> dict[str, Form]:
        forms = super().worker_forms(p, rng)
        cyr = p.extra.get("cyrillic")
        if isinstance(cyr, str):
            forms["cyrillic"] = Form(cyr, name_pieces(cyr))
        return forms

    def mobile(self, rng: random.Random) -> str:
        return rng.choice(("60", "72", "73", "77", "79")) + f"{rng.randint(0, 9_999_999):07d}"

    def dob(self, d: dt.date, rng: random.Random) -> Form:
        text = rng.choice(
            (
                f"{d.day}. {self.months[d.month - 1]} {d.year}",
                f"{d.day}. {d.month}. {d.year}",
                f"{d.day}.{d.month}.{d.year}",
            )
        )
        return Form(text, number_pieces(text))

    def numeric_date(self, d: dt.date, rng: random.Random) -> str:
        return rng.choice((f"{d.day}. {d.month}. {d.year}", f"{d.day:02d}.{d.month:02d}.{d.year}"))

    def event_date(self, d: dt.date, rng: random.Random) -> str:
        return rng.choice((f"{d.day}. {self.months[d.month - 1]}", f"{d.day}. {d.month}. {d.year}"))

    def village(self, rng: random.Random) -> Form:
        name = f"{rng.choice(('Horní', 'Dolní', 'Malá', 'Velká', 'Nová', 'Stará'))} {rng.choice(('Lhota', 'Ves', 'Bříza', 'Lhotka', 'Hůrka', 'Olešná', 'Rovná'))}"
        return Form(name, (name,))

    def address(self, village: Form, rng: random.Random) -> str:
        return f"{village.text} {rng.randint(1, 120)}, okres {rng.choice(('Tachov', 'Louny', 'Jeseník', 'Bruntál'))}"

    def room(self, rng: random.Random) -> Form:
        n = rng.randint(1, 60)
        hostel = rng.choice(("Pod Lesem", "U Nádraží", "Na Výsluní", "Lípa"))
        return Form(
            rng.choice((f"pokoj {n} na ubytovně {hostel}", f"pokoj č. {n} v ubytovně {hostel}")),
            (str(n),),
        )

    def line(self, rng: random.Random) -> Form:
        k = rng.randint(1, 12)
        return Form(
            rng.choice((f"lince {k} na noční směně", f"lince {k} na ranní směně")), (str(k),)
        )

    def amount(self, rng: random.Random) -> str:
        return f"{_thousands(rng.randint(150, 400) * 100, ' ')} Kč"

    def hours(self, rng: random.Random) -> str:
        return f"{rng.randint(5, 14)} hodin"

    def days(self, rng: random.Random) -> str:
        n = rng.randint(2, 7)
        return f"{n} {'dny' if n < 5 else 'dnů'}"

    only_phrases: ClassVar[Mapping[str, Sequence[str]]] = {
        "f": (
            "jediná těhotná žena na lince {k}",
            "jediná Vietnamka v balírně",
            "jediná členka odborů na noční směně",
            "jediná zaměstnankyně na vozíku v celé hale",
        ),
        "m": (
            "jediný muž na lince {k}",
            "jediný Vietnamec v balírně",
            "jediný člen odborů na noční směně",
            "jediný zaměstnanec na vozíku v celé hale",
        ),
    }

    templates: ClassVar[Mapping[str, Sequence[str]]] = {
        "intro": (
            "{^W} pracuje ve výrobě a svou zkušenost popsal{A} {DATE}.",
            "S {W_ins} jsme mluvili na ubytovně u průmyslové zóny.",
            "{^W} je ve firmě zaměstnán{A} tři roky.",
        ),
        "name": (
            "{^NAME} uvádí, že <<mistr>> na dělníky často křičí.",
            "Podle {W_gen} firma neplatí <<přesčasy>> včas.",
            "Kolegové {PRON3} říkají {NICK}.",
            "Na Facebooku vystupuje pod jménem {HANDLE_NAME}.",
            "{^NAME} dostal{A} srážku ze <<mzdy>> kvůli nemocenské.",
            "Na docházkovém listu je uveden{A} jako {DIGITS_NAME}.",
            "Na seznamu pokut stojí {COMMA}.",
            "O {W_loc} se na lince hodně mluví.",
            "Vedení poslalo {W_dat} výpověď.",
            "Agentura poslala {PANI_dat} dopis.",
            "Mistr nemá {PANI_acc} rád.",
            "Na kartě stojí {CAPS}.",
            "V ukrajinském pasu má jméno azbukou: {CYR}.",
            "V chatu s krajany se podepisuje {CYR}.",
        ),
        "id": (
            "{^PRON2} osobní číslo je {EID}.",
            "Ukázal{A} nám zaměstnaneckou kartu, číslo karty {BADGE}.",
            "{^SUP} zapisuje osobní číslo {EID} do knihy pokut.",
            "{^PRON2} čipová karta číslo {BADGE} byla po nemocenské zablokována.",
        ),
        "contact": (
            "{^PRON2} telefon je {PHONE}.",
            "Je k zastižení na WhatsAppu na čísle {PHONE}.",
            "E-mail: {EMAIL}.",
            "Zprostředkovatel {AGENT} volá z čísla {PHONE_OTHER} a chce peníze za <<ubytování>>.",
            "Na Instagramu má účet {HANDLE_AT}.",
            "Napsal{A} nám přes {HANDLE_URL}.",
            "Na Telegramu používá jméno {HANDLE_ID}.",
            "Agentura posílá <<smlouvy>> z adresy {EMAIL_OTHER}.",
        ),
        "birth": (
            "Narodil{A} se {DOB}.",
            "Narodil{A} se v roce {BYEAR} v obci {VILLAGE}.",
            "V průkazu má datum {SAMEYEAR}.",
            "Datum narození: {DOB}.",
        ),
        "place": (
            "Pochází z obce {VILLAGE}.",
            "Sdílí {ROOM} s dalšími pěti lidmi.",
            "Pracuje na {LINE}.",
            "{^AGENT} nabírá lidi z obce {PLACE}.",
        ),
        "people": (
            "{^SUP} dává dělníkům pokuty za všechno.",
            "{^COWORKER} má také srážky ze <<mzdy>>.",
            "{^PRON2} {KINREL}, {KIN}, pracuje ve stejné firmě.",
            "Vedoucí výroby {OTHER_FULL} {PRON3} vyhrožuje výpovědí.",
            "{^OTHER} z personálního tvrdí, že žádná <<smlouva>> není.",
            "Stížnost podali na {SUP_acc}.",
            "Hlídač {OTHER} prohledává dělníkům tašky.",
        ),
        "only": (
            "Je {ONLY}, všichni o tom vědí.",
            "Jako {ONLY} je pod stálým dohledem.",
        ),
        "content": (
            "Základní <<mzda>> je jen {AMOUNT} měsíčně a směny trvají {HOURS} denně.",
            "Agentura drží <<pasy>> a vybírá <<zálohu>> {AMOUNT}.",
            "Dne {DATE} musela celá linka zůstat do půlnoci.",
            "Za nemocenskou se strhávají {DAYS} <<mzdy>>.",
            "Na <<ubytovně>> je těsno a není teplá voda.",
            "<<Mistr>> nedovolí jít na záchod víc než dvakrát za směnu.",
        ),
        "closing": (
            "{^NAME} žádá o zachování anonymity.",
            "Rozhovor trval hodinu.",
        ),
    }
    traps: ClassVar[Mapping[str, Sequence[str]]] = {
        "maly": ("Na ubytovně mají jen <<malý>> pokoj pro čtyři lidi.",),
        "mala": ("Doma zůstala <<malá>> dcera.",),
        "cerny": ("Prý existuje <<černý>> seznam odborářů.",),
        "cerna": ("<<Černá>> práce je tu běžná.",),
        "kral": ("Mistr se chová jako <<král>>.",),
        "vesely": ("Nebyl to <<veselý>> rok.",),
        "vesela": ("Práce na lince není <<veselá>>.",),
        "kovar": ("Dřív pracoval jako <<kovář>>.",),
        "svoboda": ("Odboráři mluví o tom, že <<svoboda>> sdružování tu neplatí.",),
        "prochazka": ("Přestávka není žádná <<procházka>>.",),
    }


# --- Spanish ----------------------------------------------------------------------------


class Spanish(Lang):
    code = "es"
    country = "MX"
    nationalities = ("MX", "MX", "GT", "HN")
    cc = "52"
    trunk = ""
    phone_groups = (2, 4, 4)
    digit_words = (
        "cero",
        "uno",
        "dos",
        "tres",
        "cuatro",
        "cinco",
        "seis",
        "siete",
        "ocho",
        "nueve",
    )
    months = (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    )
    mail_domains = ("correo.example", "buzon.example")
    eid_prefixes = ("EMP", "NE", "MX")
    GIVEN_F: ClassVar[Mapping[str, str]] = {
        "María": "Mari",
        "Dolores": "Lola",
        "Pilar": "Pili",
        "Rosa": "Rosita",
        "Guadalupe": "Lupita",
        "Luz": "Lucita",
        "Mercedes": "Meche",
        "Yolanda": "Yola",
        "Esperanza": "Espe",
        "Consuelo": "Chelo",
        "Paz": "Pacita",
    }
    GIVEN_M: ClassVar[Mapping[str, str]] = {
        "José": "Pepe",
        "Francisco": "Paco",
        "Jesús": "Chuy",
        "Alejandro": "Álex",
        "Rafael": "Rafa",
        "Salvador": "Chava",
        "Santiago": "Santi",
        "Domingo": "Mingo",
        "Ángel": "Angelito",
        "Juan": "Juanito",
    }
    FAMILY = (
        "García",
        "Hernández",
        "López",
        "Martínez",
        "Rosales",
        "Blanco",
        "León",
        "Pastor",
        "Campos",
        "Soto",
        "Ramírez",
        "Cruz",
        "Flores",
        "Méndez",
        "Torres",
        "Vega",
    )

    def person(self, rng: random.Random, gender: str, taken: set[str]) -> Person:
        table = self.GIVEN_F if gender == "f" else self.GIVEN_M
        first = self._pick(rng, tuple(table), taken)
        given = first
        if rng.random() < 0.35:
            second = self._pick(rng, tuple(table), taken | {first.casefold()})
            if second != first:
                given = f"{first} {second}"
        father = self._pick(rng, self.FAMILY, taken)
        mother = self._pick(rng, self.FAMILY, taken | {father.casefold()})
        family = f"{father} {mother}"
        full = f"{given} {family}"
        return Person(given, family, gender, full, name_pieces(full), {"nick": table[first]})

    def given_form(self, p: Person, rng: random.Random) -> Form:
        first = p.given.split()[0]
        father = p.family.split()[0]
        r = rng.random()
        if r < 0.3:
            return Form(f"{'doña' if p.gender == 'f' else 'don'} {first}", (first,))
        if r < 0.5:
            return Form(f"{'la señora' if p.gender == 'f' else 'el señor'} {father}", (father,))
        return Form(first, (first,))

    def refer(self, p: Person, rng: random.Random, role: str) -> Form:
        father = p.family.split()[0]
        r = rng.random()
        if r < 0.3:
            return Form(f"{'Sra.' if p.gender == 'f' else 'Sr.'} {father}", (father,))
        if r < 0.45 and role in ("supervisor", "hr"):
            return Form(
                f"{'la licenciada' if p.gender == 'f' else 'el ingeniero'} {father}", (father,)
            )
        return self.given_form(p, rng)

    def pronoun(self, p: Person) -> str:
        return "ella" if p.gender == "f" else "él"

    def pronoun2(self, p: Person) -> str:
        return "su"

    def ending(self, p: Person) -> str:
        return "a" if p.gender == "f" else "o"

    def kin_relation(self, kin: Person) -> str:
        return "hermana" if kin.gender == "f" else "hermano"

    def mobile(self, rng: random.Random) -> str:
        return rng.choice(("55", "33", "81", "66")) + f"{rng.randint(0, 99_999_999):08d}"

    def phone_written(self, nsn: str, how: str, rng: random.Random) -> Form | None:
        if how == "local" and rng.random() < 0.4:
            text = f"({nsn[:2]}) {nsn[2:6]}-{nsn[6:]}"
            return Form(text, number_pieces(text))
        return super().phone_written(nsn, how, rng)

    def dob(self, d: dt.date, rng: random.Random) -> Form:
        text = rng.choice(
            (
                f"{d.day} de {self.months[d.month - 1]} de {d.year}",
                f"{d.day:02d}/{d.month:02d}/{d.year}",
                f"{d.day}-{d.month}-{d.year}",
            )
        )
        return Form(text, number_pieces(text))

    def event_date(self, d: dt.date, rng: random.Random) -> str:
        return rng.choice((f"{d.day} de {self.months[d.month - 1]}", self.numeric_date(d, rng)))

    def village(self, rng: random.Random) -> Form:
        name = rng.choice(
            (
                "San Isidro",
                "El Mezquite",
                "Las Palmas",
                "Santa Rita",
                "El Refugio",
                "Los Pinos",
                "La Soledad",
                "San Gabriel",
            )
        )
        # Written after "del": every kind of place here is masculine.
        return Form(f"{rng.choice(('ejido', 'rancho', 'poblado'))} {name}", (name,))

    def address(self, village: Form, rng: random.Random) -> str:
        return f"{village.text[:1].upper()}{village.text[1:]} s/n, municipio de {rng.choice(('Apaseo', 'Ocotlán', 'Tlahualilo'))}"

    def room(self, rng: random.Random) -> Form:
        n = rng.randint(1, 40)
        return Form(
            rng.choice((f"cuarto {n} del albergue", f"cuarto {n} de la casa de huéspedes")),
            (str(n),),
        )

    def line(self, rng: random.Random) -> Form:
        k = rng.randint(1, 12)
        return Form(
            rng.choice((f"línea {k}, turno nocturno", f"línea {k} del turno de noche")), (str(k),)
        )

    def amount(self, rng: random.Random) -> str:
        return f"${_thousands(rng.randint(12, 45) * 100, ',')} pesos"

    only_phrases: ClassVar[Mapping[str, Sequence[str]]] = {
        "f": (
            "la única embarazada de la línea {k}",
            "la única trabajadora indígena en empaque",
            "la única afiliada al sindicato en el turno de noche",
            "la única que usa silla de ruedas en la nave",
        ),
        "m": (
            "el único hombre de la línea {k}",
            "el único trabajador indígena en empaque",
            "el único afiliado al sindicato en el turno de noche",
            "el único que usa silla de ruedas en la nave",
        ),
    }
    hours_format = "{} horas"
    days_format = "{} días"

    templates: ClassVar[Mapping[str, Sequence[str]]] = {
        "intro": (
            "{^W}, operari{A} de producción, nos contó su caso el {DATE}.",
            "Nos reunimos con {W} en un cuarto rentado cerca del parque industrial.",
            "{^W} lleva tres años <<trabajando>> en la maquiladora.",
        ),
        "name": (
            "{^NAME} dice que el <<supervisor>> grita a los trabajadores.",
            "Según {NAME}, la empresa no paga las <<horas extra>> a tiempo.",
            "Sus compañeros le dicen {NICK}.",
            "Su perfil de Facebook es {HANDLE_NAME}.",
            "A {NAME} le descontaron el <<salario>> por una incapacidad.",
            "En la lista de asistencia aparece como {DIGITS_NAME}.",
            "En la lista de sanciones aparece {COMMA}.",
            "En el gafete dice {CAPS}.",
        ),
        "id": (
            "Su número de empleado es {EID}.",
            "Nos enseñó su gafete número {BADGE}.",
            "{^SUP} anotó el número de empleado {EID} en la libreta de castigos.",
            "La ficha {BADGE} quedó bloqueada después de su incapacidad.",
        ),
        "contact": (
            "Su celular es {PHONE}.",
            "Se le puede contactar por WhatsApp al {PHONE}.",
            "Correo: {EMAIL}.",
            "El enganchador, {AGENT}, llama desde el {PHONE_OTHER} para cobrar la <<cuota>>.",
            "En Instagram usa la cuenta {HANDLE_AT}.",
            "Nos escribió por {HANDLE_URL}.",
            "Su usuario de Telegram es {HANDLE_ID}.",
            "La agencia manda los <<contratos>> desde {EMAIL_OTHER}.",
        ),
        "birth": (
            "Nació el {DOB}.",
            "Nació en {BYEAR} en el {VILLAGE}.",
            "En su credencial de elector aparece la fecha {SAMEYEAR}.",
            "Fecha de nacimiento: {DOB}.",
        ),
        "place": (
            "Es originari{A} del {VILLAGE}.",
            "Comparte el {ROOM} con otras cinco personas.",
            "Trabaja en la {LINE}.",
            "{^AGENT} recluta gente del {PLACE}.",
        ),
        "people": (
            "{^SUP} les pone multas por todo.",
            "A {COWORKER} también le descontaron el <<salario>>.",
            "Su {KINREL}, {KIN}, trabaja en la misma planta.",
            "{^OTHER_FULL}, de la gerencia, l{A} amenazó con despedirl{A}.",
            "{^OTHER}, de recursos humanos, dice que no hay <<contrato>>.",
            "Fue a la clínica con {COWORKER}.",
        ),
        "only": (
            "Es {ONLY}, así que todos saben quién es.",
            "Como es {ONLY}, l{A} vigilan todo el tiempo.",
        ),
        "content": (
            "El <<salario>> base es de {AMOUNT} a la semana y hay que quedarse {HOURS} más al día.",
            "La empresa retiene los <<pasaportes>> y cobra un <<depósito>> de {AMOUNT}.",
            "El {DATE}, toda la línea tuvo que quedarse hasta la medianoche.",
            "Por una incapacidad descuentan {DAYS} de <<salario>>.",
            "El <<dormitorio>> está lleno y no hay agua caliente.",
            "El <<supervisor>> no deja ir al baño más de dos veces por turno.",
        ),
        "closing": (
            "{^NAME} pide que no se publique su nombre.",
            "La entrevista duró una hora.",
        ),
    }
    traps: ClassVar[Mapping[str, Sequence[str]]] = {
        "dolores": ("Tiene <<dolores>> de espalda por estar de pie diez horas.",),
        "rosa": ("El uniforme de las nuevas es <<rosa>>.",),
        "luz": ("En el cuarto que renta no hay <<luz>> por las noches.",),
        "blanco": ("A los nuevos les dan un casco <<blanco>>.",),
        "pastor": ("El <<pastor>> de la iglesia les ayudó con la renta.",),
        "campos": ("Antes trabajaba en los <<campos>> de fresa.",),
        "flores": ("Su madre vende <<flores>> en el mercado.",),
        "torres": ("Las <<torres>> de enfriamiento hacen mucho ruido.",),
        "esperanza": ("Ya no tiene <<esperanza>> de que le paguen.",),
        "paz": ("Solo quiere trabajar en <<paz>>.",),
        "domingo": ("También trabajan el <<domingo>>.",),
        "leon": ("La planta está cerca de <<León>>.",),
    }


# --- French -----------------------------------------------------------------------------

_FR_UNITS: Final = (
    *("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"),
    *("dix", "onze", "douze", "treize", "quatorze", "quinze", "seize"),
    *("dix-sept", "dix-huit", "dix-neuf"),
)
_FR_TENS: Final = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}


def french_number(n: int) -> str:
    """0 to 99 in words, as French reads a phone number two digits at a time."""
    if n < 20:
        return _FR_UNITS[n]
    tens, units = divmod(n, 10)
    if tens < 7:
        return _FR_TENS[tens] + (
            "-et-un" if units == 1 else f"-{_FR_UNITS[units]}" if units else ""
        )
    if tens == 7:
        return "soixante" + ("-et-onze" if units == 1 else f"-{_FR_UNITS[10 + units]}")
    if n == 80:
        return "quatre-vingts"
    return "quatre-vingt-" + _FR_UNITS[n - 80]


class French(Lang):
    code = "fr"
    country = "FR"
    nationalities = ("FR", "FR", "MA", "SN")
    cc = "33"
    phone_groups = (1, 2, 2, 2, 2)
    digit_words = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf")
    months = (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    )
    mail_domains = ("courriel.example", "boite.example")
    eid_prefixes = ("MAT", "M", "EMP")
    phone_writings = ("stored", "local", "compact", "words", "pairs", "pairs")
    GIVEN_F: ClassVar[Mapping[str, str | None]] = {
        "Marie": None,
        "Claire": None,
        "Rose": "Rosie",
        "Amélie": "Mélie",
        "Camille": "Cam",
        "Océane": "Océ",
        "Nathalie": "Nat",
        "Sandrine": "Sandy",
        "Émilie": "Mimi",
        "Aurore": None,
        "Fatima": "Fatou",
        "Aïcha": None,
    }
    GIVEN_M: ClassVar[Mapping[str, str | None]] = {
        "Pierre": "Pierrot",
        "Julien": "Juju",
        "Thomas": "Tom",
        "Nicolas": "Nico",
        "Olivier": "Oli",
        "Sébastien": "Séb",
        "Noël": None,
        "Jean-Pierre": "JP",
        "Antoine": "Tonio",
        "Clément": "Clem",
        "Karim": None,
        "Mamadou": "Madou",
    }
    FAMILY = (
        "Petit",
        "Blanc",
        "Marchand",
        "Lefèvre",
        "Dubois",
        "Moreau",
        "Roux",
        "Fontaine",
        "Girard",
        "Boulanger",
        "Mercier",
        "Benali",
        "Diallo",
        "Ndiaye",
    )

    def person(self, rng: random.Random, gender: str, taken: set[str]) -> Person:
        table = self.GIVEN_F if gender == "f" else self.GIVEN_M
        given = self._pick(rng, tuple(table), taken)
        family = self._pick(rng, self.FAMILY, taken)
        full = f"{given} {family}"
        return Person(given, family, gender, full, name_pieces(full), {"nick": table[given]})

    def given_form(self, p: Person, rng: random.Random) -> Form:
        r = rng.random()
        if r < 0.3:
            return Form(f"{'Mme' if p.gender == 'f' else 'M.'} {p.family}", (p.family,))
        if r < 0.4:
            return Form(f"{'madame' if p.gender == 'f' else 'monsieur'} {p.family}", (p.family,))
        return Form(p.given, name_pieces(p.given))

    def refer(self, p: Person, rng: random.Random, role: str) -> Form:
        if role == "supervisor" and rng.random() < 0.4:
            return Form(f"{'la cheffe' if p.gender == 'f' else 'le chef'} {p.family}", (p.family,))
        return self.given_form(p, rng)

    def pronoun(self, p: Person) -> str:
        return "elle" if p.gender == "f" else "il"

    def pronoun3(self, p: Person) -> str:
        return "elle" if p.gender == "f" else "lui"

    def ending(self, p: Person) -> str:
        return "e" if p.gender == "f" else ""

    def kin_relation(self, kin: Person) -> str:
        return "Sa sœur" if kin.gender == "f" else "Son frère"

    def worker_forms(self, p: Person, rng: random.Random) -> dict[str, Form]:
        forms = super().worker_forms(p, rng)
        # French forms put the family name first, in capitals.
        text = f"{p.family.upper()} {p.given}"
        forms["reversed"] = Form(text, name_pieces(text))
        if ascii_only(p.given)[:1] in "AEIOUY":
            apostrophe = rng.choice(("'", "’"))
            forms["possessive"] = Form(f"d{apostrophe}{p.given}", name_pieces(p.given))
        return forms

    def mobile(self, rng: random.Random) -> str:
        return rng.choice(("6", "7")) + f"{rng.randint(0, 99_999_999):08d}"

    def phone_written(self, nsn: str, how: str, rng: random.Random) -> Form | None:
        if how == "pairs":
            national = "0" + nsn
            pairs = [national[i : i + 2] for i in range(0, 10, 2)]
            words = [
                ("zéro " + _FR_UNITS[int(p[1])]) if p[0] == "0" else french_number(int(p))
                for p in pairs
            ]
            text, pieces = word_pieces(words, " ", 2)
            return Form(text, pieces)
        return super().phone_written(nsn, how, rng)

    def dob(self, d: dt.date, rng: random.Random) -> Form:
        text = rng.choice(
            (
                f"{d.day} {self.months[d.month - 1]} {d.year}",
                f"{d.day:02d}/{d.month:02d}/{d.year}",
                f"{d.day:02d}.{d.month:02d}.{d.year}",
            )
        )
        return Form(text, number_pieces(text))

    def village(self, rng: random.Random) -> Form:
        r = rng.random()
        if r < 0.25:
            name = rng.choice(("Aït Ali", "Ouled Saïd", "Tizi Ouzla", "Aït Brahim"))
            return Form(f"douar {name}", (name,))
        name = rng.choice(
            (
                "Essarts",
                "Granges",
                "Bruyères",
                "Vieux-Moulin",
                "Plessis",
                "Champ-Fleuri",
                "Croix-Blanche",
            )
        )
        return Form(f"{rng.choice(('hameau de', 'lieu-dit'))} {name}", (name,))

    def address(self, village: Form, rng: random.Random) -> str:
        return f"{village.text[:1].upper()}{village.text[1:]}, {rng.randint(10, 95)}{rng.randint(100, 999)} {rng.choice(('Saint-Aubin', 'Villiers', 'Montreuil-sur-Loir'))}"

    def room(self, rng: random.Random) -> Form:
        n = rng.randint(1, 80)
        return Form(
            f"chambre {n} du foyer {rng.choice(('Les Tilleuls', 'Les Acacias', 'Jean-Jaurès'))}",
            (str(n),),
        )

    def line(self, rng: random.Random) -> Form:
        k = rng.randint(1, 12)
        return Form(
            rng.choice((f"ligne {k}, équipe de nuit", f"ligne {k} en équipe du matin")), (str(k),)
        )

    def amount(self, rng: random.Random) -> str:
        return f"{_thousands(rng.randint(9, 22) * 100, ' ')} euros"

    only_phrases: ClassVar[Mapping[str, Sequence[str]]] = {
        "f": (
            "la seule femme enceinte de la ligne {k}",
            "la seule intérimaire malienne de l'emballage",
            "la seule syndiquée de l'équipe de nuit",
            "la seule ouvrière en fauteuil roulant de l'atelier",
        ),
        "m": (
            "le seul homme de la ligne {k}",
            "le seul intérimaire malien de l'emballage",
            "le seul syndiqué de l'équipe de nuit",
            "le seul ouvrier en fauteuil roulant de l'atelier",
        ),
    }
    hours_format = "{} heures"
    days_format = "{} jours"

    templates: ClassVar[Mapping[str, Sequence[str]]] = {
        "intro": (
            "{^W} travaille à la production et nous a raconté son histoire le {DATE}.",
            "Nous avons rencontré {W} dans un foyer près de la zone industrielle.",
            "{^W} <<travaille>> dans cette usine depuis trois ans.",
        ),
        "name": (
            "{^NAME} explique que le <<chef d'équipe>> crie sur les ouvriers.",
            "Selon {NAME}, l'entreprise ne paie pas les <<heures supplémentaires>> à temps.",
            "Ses collègues l'appellent {NICK}.",
            "Son compte Facebook s'appelle {HANDLE_NAME}.",
            "Le <<salaire>> {POSS} a été amputé pour un arrêt maladie.",
            "Sur la feuille de présence, on lit {DIGITS_NAME}.",
            "Sur la liste des sanctions figure {COMMA}.",
            "Sur le badge est écrit {CAPS}.",
            "Le dossier de l'agence mentionne {NAME}.",
        ),
        "id": (
            "Son matricule est {EID}.",
            "{^PRON} nous a montré son badge n° {BADGE}.",
            "{^SUP} a noté le matricule {EID} dans le cahier des sanctions.",
            "Le badge numéro {BADGE} a été désactivé après son arrêt maladie.",
        ),
        "contact": (
            "Son portable : {PHONE}.",
            "Joignable sur WhatsApp au {PHONE}.",
            "Courriel : {EMAIL}.",
            "Le recruteur, {AGENT}, appelle depuis le {PHONE_OTHER} pour réclamer des <<frais>>.",
            "Sur Instagram, son compte est {HANDLE_AT}.",
            "{^PRON} nous a écrit via {HANDLE_URL}.",
            "Son identifiant Telegram est {HANDLE_ID}.",
            "L'agence envoie les <<contrats>> depuis {EMAIL_OTHER}.",
        ),
        "birth": (
            "Né{A} le {DOB}.",
            "Né{A} en {BYEAR} au {VILLAGE}.",
            "Sa carte de séjour indique le {SAMEYEAR}.",
            "Date de naissance : {DOB}.",
        ),
        "place": (
            "{^PRON} vient du {VILLAGE}.",
            "{^PRON} partage la {ROOM} avec cinq autres personnes.",
            "{^PRON} travaille sur la {LINE}.",
            "{^AGENT} recrute des gens du {PLACE}.",
        ),
        "people": (
            "{^SUP} distribue des sanctions pour tout.",
            "{^COWORKER} a aussi subi des retenues sur <<salaire>>.",
            "{KINREL}, {KIN}, travaille dans la même usine.",
            "{^OTHER_FULL}, de la direction, l'a menacé{A} de licenciement.",
            "{^OTHER}, des ressources humaines, affirme qu'il n'y a pas de <<contrat>>.",
            "{^PRON} est allé{A} à l'infirmerie avec {COWORKER}.",
        ),
        "only": (
            "{^PRON} est {ONLY}, tout le monde sait qui c'est.",
            "Comme {PRON} est {ONLY}, le chef a toujours un œil sur {PRON3}.",
        ),
        "content": (
            "Le <<salaire>> de base n'est que de {AMOUNT} par mois, et il faut rester {HOURS} de plus chaque semaine.",
            "L'agence garde les <<passeports>> et prélève une <<caution>> de {AMOUNT}.",
            "Le {DATE}, toute la ligne a dû rester jusqu'à minuit.",
            "Un arrêt maladie coûte {DAYS} de <<salaire>>.",
            "Le <<foyer>> est surpeuplé et il n'y a pas d'eau chaude.",
            "Le <<chef d'équipe>> interdit d'aller aux toilettes plus de deux fois par poste.",
        ),
        "closing": (
            "{^NAME} demande que son nom ne soit pas publié.",
            "L'entretien a duré une heure.",
        ),
    }
    traps: ClassVar[Mapping[str, Sequence[str]]] = {
        "pierre": ("Les murs du foyer sont en <<pierre>> et très humides.",),
        "petit": ("Le <<petit>> déjeuner n'est pas fourni.",),
        "blanc": ("Il faut porter un casque <<blanc>>.",),
        "rose": ("Le badge des intérimaires est <<rose>>.",),
        "claire": ("La consigne n'était pas <<claire>>.",),
        "marchand": ("Le logement est loué par un <<marchand>> de sommeil.",),
        "fontaine": ("La <<fontaine>> à eau est en panne depuis des semaines.",),
        "boulanger": ("Avant, il travaillait chez un <<boulanger>>.",),
        "noel": ("Même à <<Noël>>, l'usine tournait.",),
        "aurore": ("Les équipes commencent dès l'<<aurore>>.",),
    }


# --- English ----------------------------------------------------------------------------


class English(Lang):
    code = "en"
    country = "MY"
    cc = "60"
    phone_groups = (2, 3, 4)
    digit_words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    months = (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    )
    mail_domains = ("inbox.example", "mailbox.example")
    eid_prefixes = ("EMP", "W", "MY")
    # Origin: (given female, given male, family, family first?, nationality)
    ORIGINS: ClassVar = {
        "PH": (
            ("Maria", "Grace", "Joy", "May", "Hope", "Rose", "Cherry", "Faith", "Precious"),
            ("Mark", "Bill", "Jun", "Rey", "Joel", "Sonny", "Arnel"),
            ("Santos", "Dela Cruz", "Villanueva", "Reyes", "Mendoza", "Bautista", "Aquino"),
            False,
        ),
        "NP": (
            ("Sita", "Anita", "Gita", "Sunita", "Kamala"),
            ("Ram", "Bikash", "Hari", "Suman", "Dipak"),
            ("Gurung", "Tamang", "Rai", "Magar", "Thapa", "Limbu"),
            False,
        ),
        "BD": (
            ("Nasima", "Rina", "Shirin"),
            ("Rahim", "Karim", "Jahid", "Mizan"),
            ("Hossain", "Uddin", "Ahmed", "Akter"),
            False,
        ),
        "MY": (
            ("Wei Ling", "Mei Ling", "Siew Lan"),
            ("Kok Wai", "Chee Keong", "Wei Ming"),
            ("Tan", "Lim", "Wong", "Ong"),
            True,
        ),
    }
    NICKS: ClassVar[Mapping[str, str]] = {"Maria": "Mai", "Grace": "Gracie", "Joy": "Joyjoy", "Precious": "Presh", "Mark": "Marky", "Bill": "Billy", "Rey": "Reyrey", "Bikash": "Bikky", "Suman": "Sumi", "Sunita": "Suni", "Rahim": "Rahi"}  # fmt: skip

    nationalities = ("PH", "NP", "BD", "MY")

    def nationality(self, p: Person, rng: random.Random) -> str:
        return str(p.extra["origin"])

    def person(self, rng: random.Random, gender: str, taken: set[str]) -> Person:
        origin = rng.choice(("PH", "PH", "NP", "BD", "MY"))
        gf, gm, families, family_first = self.ORIGINS[origin]
        given = self._pick(rng, gf if gender == "f" else gm, taken)
        family = self._pick(rng, families, taken)
        full = f"{family} {given}" if family_first else f"{given} {family}"
        extra: dict[str, object] = {"origin": origin, "family_first": family_first}
        if given in self.NICKS:
            extra["nick"] = self.NICKS[given]
        return Person(given, family, gender, full, name_pieces(full), extra)

    def given_form(self, p: Person, rng: random.Random) -> Form:
        r = rng.random()
        if r < 0.25:
            title = rng.choice(("Ms", "Mrs")) if p.gender == "f" else "Mr"
            return Form(f"{title} {p.family}", name_pieces(p.family))
        if r < 0.4 and p.extra.get("origin") == "PH":
            return Form(f"{'Ate' if p.gender == 'f' else 'Kuya'} {p.given}", name_pieces(p.given))
        if r < 0.4 and p.extra.get("origin") == "NP":
            return Form(f"{p.given} {'didi' if p.gender == 'f' else 'dai'}", name_pieces(p.given))
        return Form(p.given, name_pieces(p.given))

    def refer(self, p: Person, rng: random.Random, role: str) -> Form:
        if role in ("supervisor", "recruiter", "hr") and rng.random() < 0.5:
            title = (
                rng.choice(("Ms.", "Mrs.", "Madam"))
                if p.gender == "f"
                else rng.choice(("Mr.", "Mr"))
            )
            return Form(f"{title} {p.family}", name_pieces(p.family))
        return self.given_form(p, rng)

    def pronoun(self, p: Person) -> str:
        return "she" if p.gender == "f" else "he"

    def pronoun2(self, p: Person) -> str:
        return "her" if p.gender == "f" else "his"

    def pronoun3(self, p: Person) -> str:
        return "her" if p.gender == "f" else "him"

    def kin_relation(self, kin: Person) -> str:
        return "sister" if kin.gender == "f" else "brother"

    def worker_forms(self, p: Person, rng: random.Random) -> dict[str, Form]:
        forms = super().worker_forms(p, rng)
        if p.extra.get("family_first"):
            text = f"{p.given} {p.family}"
            forms["reversed"] = Form(text, name_pieces(text))
            forms["comma_reversed"] = Form(f"{p.family}, {p.given}", name_pieces(p.full))
        else:
            forms["comma_reversed"] = Form(f"{p.family.upper()}, {p.given}", name_pieces(p.full))
        suffix = rng.choice(("'s", "’s"))
        forms["possessive"] = Form(f"{p.given}{suffix}", name_pieces(p.given))
        return forms

    def mobile(self, rng: random.Random) -> str:
        return rng.choice(("12", "13", "16", "17", "19")) + f"{rng.randint(0, 9_999_999):07d}"

    def dob(self, d: dt.date, rng: random.Random) -> Form:
        text = rng.choice(
            (
                f"{d.day} {self.months[d.month - 1]} {d.year}",
                f"{self.months[d.month - 1]} {d.day}, {d.year}",
                f"{d.day:02d}/{d.month:02d}/{d.year}",
                f"{d.day:02d}-{d.month:02d}-{d.year % 100:02d}",
            )
        )
        return Form(text, number_pieces(text))

    def village(self, rng: random.Random) -> Form:
        if rng.random() < 0.5:
            name = rng.choice(("Sunkot", "Bhimpur", "Deurali", "Kotgaun", "Ramche", "Thulogaun"))
            return Form(f"{name} village", (name,))
        name = rng.choice(("San Isidro", "Santa Rita", "San Roque", "Mabini", "Bagong Silang"))
        return Form(f"Barangay {name}", (name,))

    def address(self, village: Form, rng: random.Random) -> str:
        return f"{village.text}, {rng.choice(('Gorkha', 'Syangja', 'Nueva Ecija', 'Iloilo'))}"

    def room(self, rng: random.Random) -> Form:
        n = rng.randint(101, 520)
        block = rng.choice("ABCDE")
        return Form(
            rng.choice((f"Room {n}, Block {block}", f"room {n} in hostel block {block}")), (str(n),)
        )

    def line(self, rng: random.Random) -> Form:
        k = rng.randint(1, 12)
        return Form(rng.choice((f"line {k}, night shift", f"line {k} on the day shift")), (str(k),))

    def amount(self, rng: random.Random) -> str:
        return f"RM {_thousands(rng.randint(12, 25) * 100, ',')}"

    only_phrases: ClassVar[Mapping[str, Sequence[str]]] = {
        "f": (
            "the only pregnant worker on line {k}",
            "the only Nepali woman in the packing section",
            "the only union member on the night shift",
            "the only worker who uses a wheelchair on the floor",
        ),
        "m": (
            "the only man on line {k}",
            "the only Nepali man in the packing section",
            "the only union member on the night shift",
            "the only worker who uses a wheelchair on the floor",
        ),
    }
    hours_format = "{} hours"
    days_format = "{} days"

    templates: ClassVar[Mapping[str, Sequence[str]]] = {
        "intro": (
            "{^W} works in production and told us {PRON2} story on {DATE}.",
            "We met {W} at a hostel near the industrial park.",
            "{^W} has been <<working>> at this factory for three years.",
        ),
        "name": (
            "{^NAME} says the <<supervisor>> shouts at workers every day.",
            "According to {NAME}, the company does not pay <<overtime>> on time.",
            "Co-workers call {PRON3} {NICK}.",
            "{^PRON2} Facebook profile is {HANDLE_NAME}.",
            "{^POSS} <<wages>> were cut for a day of sick leave.",
            "On the attendance sheet {PRON} is listed as {DIGITS_NAME}.",
            "The list of fines names {COMMA}.",
            "The badge says {CAPS}.",
            "The agency's file mentions {NAME}.",
        ),
        "id": (
            "{^PRON2} employee number is {EID}.",
            "{^PRON} showed us {PRON2} badge, number {BADGE}.",
            "{^SUP} wrote the employee number {EID} in the fines book.",
            "Badge no. {BADGE} was blocked after {PRON2} sick leave.",
        ),
        "contact": (
            "{^PRON2} phone number is {PHONE}.",
            "{^PRON} can be reached on WhatsApp at {PHONE}.",
            "Email: {EMAIL}.",
            "The agent, {AGENT}, calls from {PHONE_OTHER} to collect the recruitment <<fee>>.",
            "On Instagram {PRON} uses {HANDLE_AT}.",
            "{^PRON} messaged us through {HANDLE_URL}.",
            "{^PRON2} Telegram username is {HANDLE_ID}.",
            "The agency sends <<contracts>> from {EMAIL_OTHER}.",
        ),
        "birth": (
            "{^PRON} was born on {DOB}.",
            "{^PRON} was born in {BYEAR} in {VILLAGE}.",
            "{^PRON2} passport shows the date {SAMEYEAR}.",
            "Date of birth: {DOB}.",
        ),
        "place": (
            "{^PRON} comes from {VILLAGE}.",
            "{^PRON} shares {ROOM} with five other people.",
            "{^PRON} works on {LINE}.",
            "{^AGENT} recruits people from {PLACE}.",
        ),
        "people": (
            "{^SUP} hands out fines for everything.",
            "{^COWORKER} also had <<wages>> deducted.",
            "{^PRON2} {KINREL}, {KIN}, works at the same plant.",
            "The manager, {OTHER_FULL}, threatened to dismiss {PRON3}.",
            "{^OTHER} from HR says there is no <<contract>>.",
            "{^PRON} went to the clinic with {COWORKER}.",
        ),
        "only": (
            "{^PRON} is {ONLY}, so everyone knows who {PRON} is.",
            "As {ONLY}, {PRON} is watched all the time.",
        ),
        "content": (
            "Basic <<pay>> is only {AMOUNT} a month, and {HOURS} of <<overtime>> a day are normal.",
            "The agency keeps <<passports>> and took a <<deposit>> of {AMOUNT}.",
            "On {DATE}, the whole line had to stay until midnight.",
            "Sick leave costs {DAYS} of <<wages>>.",
            "The <<hostel>> is crowded and there is no hot water.",
            "The <<supervisor>> allows only two toilet breaks per shift.",
        ),
        "closing": (
            "{^NAME} asks that the name not be published.",
            "The interview lasted one hour.",
        ),
    }
    traps: ClassVar[Mapping[str, Sequence[str]]] = {
        "may": ("Wages for <<May>> were paid late.",),
        "grace": ("There is no <<grace>> period for late arrival.",),
        "hope": ("Workers <<hope>> the agent will return their passports.",),
        "mark": ("The supervisor puts a <<mark>> on the card for every toilet break.",),
        "bill": ("The electricity <<bill>> for the hostel is deducted from wages.",),
        "rose": ("Prices <<rose>> but wages did not.",),
        "faith": ("Many lost <<faith>> in the agent.",),
        "joy": ("There was no <<joy>> in sixteen-hour shifts.",),
        "ram": ("Line 4 tests <<RAM>> modules.",),
        "jun": ("The pay slip for <<Jun>> 2024 shows no overtime.",),
        "precious": ("Every minute on the line is <<precious>> to the supervisor.",),
    }

"""A synthetic national Ofsted data set for the benchmark: deterministic, realistic in shape, fictional.

Writes, into an output folder:

- `ofsted_national.csv`: an Ofsted management-information CSV in the "mi-2017" layout (the 51 headers of
  the shared Oxfordshire file, in the same order, UTF-8, dd/mm/yyyy dates, NULL for missing values): one
  row per open school with its latest and previous graded inspection.
- `gias_establishments.csv`: a GIAS all-establishments CSV for the same URNs, plus the closed
  maintained schools the converter academies replaced (EduBase column names, dd-mm-yyyy dates, cp1252).
- `gias_links.csv`: the GIAS links file joining each converter or sponsored academy to its predecessor
  (a Successor row and the matching Predecessor row, as GIAS publishes them).

Shares aim at England's in the mid 2020s (Ofsted official statistics and GIAS, rounded): about two in
three schools academies; at the latest inspection about 15% outstanding, 70% good, 11% requires
improvement, 1.2% serious weaknesses, 1.3% special measures (seed 2026); RI more common at the previous
one (20%), and "stuck" (RI after below good) arising from that. Inspections fall in the ten years to August 2024, the
last period with an overall grade, which is all the 2017 layout can carry. School names, URNs and
LAESTABs are fictional; the authority names are England's.

    python bench/make_national.py OUTDIR [--schools 22000] [--seed 2026]
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from concerns.ingest.parse.ofsted_csv import MI_2017_HEADER

GIAS_HEADER = [
    "URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName", "TypeOfEstablishment (name)",
    "EstablishmentStatus (name)", "PhaseOfEducation (name)", "OpenDate", "CloseDate",
    "ReasonEstablishmentClosed (name)", "ReligiousCharacter (name)", "Diocese (name)", "Trusts (name)",
]
LINKS_HEADER = ["URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate"]

# England's local authorities by region (152, as in the DfE's statistics; names as Ofsted writes them).
REGIONS: dict[str, tuple[str, ...]] = {
    "North East": ("County Durham", "Darlington", "Gateshead", "Hartlepool", "Middlesbrough", "Newcastle upon Tyne",
                   "North Tyneside", "Northumberland", "Redcar and Cleveland", "South Tyneside", "Stockton-on-Tees",
                   "Sunderland"),
    "North West": ("Blackburn with Darwen", "Blackpool", "Bolton", "Bury", "Cheshire East",
                   "Cheshire West and Chester", "Cumbria", "Halton", "Knowsley", "Lancashire", "Liverpool",
                   "Manchester", "Oldham", "Rochdale", "Salford", "Sefton", "St. Helens", "Stockport", "Tameside",
                   "Trafford", "Warrington", "Wigan", "Wirral"),
    "Yorkshire and the Humber": ("Barnsley", "Bradford", "Calderdale", "Doncaster", "East Riding of Yorkshire",
                                 "Kingston upon Hull, City of", "Kirklees", "Leeds", "North East Lincolnshire",
                                 "North Lincolnshire", "North Yorkshire", "Rotherham", "Sheffield", "Wakefield",
                                 "York"),
    "East Midlands": ("Derby", "Derbyshire", "Leicester", "Leicestershire", "Lincolnshire", "Northamptonshire",
                      "Nottingham", "Nottinghamshire", "Rutland"),
    "West Midlands": ("Birmingham", "Coventry", "Dudley", "Herefordshire, County of", "Sandwell", "Shropshire",
                      "Solihull", "Staffordshire", "Stoke-on-Trent", "Telford and Wrekin", "Walsall", "Warwickshire",
                      "Wolverhampton", "Worcestershire"),
    "East of England": ("Bedford", "Cambridgeshire", "Central Bedfordshire", "Essex", "Hertfordshire", "Luton",
                        "Norfolk", "Peterborough", "Southend-on-Sea", "Suffolk", "Thurrock"),
    "London": ("Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "City of London",
               "Croydon", "Ealing", "Enfield", "Greenwich", "Hackney", "Hammersmith and Fulham", "Haringey",
               "Harrow", "Havering", "Hillingdon", "Hounslow", "Islington", "Kensington and Chelsea",
               "Kingston upon Thames", "Lambeth", "Lewisham", "Merton", "Newham", "Redbridge",
               "Richmond upon Thames", "Southwark", "Sutton", "Tower Hamlets", "Waltham Forest", "Wandsworth",
               "Westminster"),
    "South East": ("Bracknell Forest", "Brighton and Hove", "Buckinghamshire", "East Sussex", "Hampshire",
                   "Isle of Wight", "Kent", "Medway", "Milton Keynes", "Oxfordshire", "Portsmouth", "Reading",
                   "Slough", "Southampton", "Surrey", "West Berkshire", "West Sussex", "Windsor and Maidenhead",
                   "Wokingham"),
    "South West": ("Bath and North East Somerset", "Bournemouth, Christchurch and Poole", "Bristol, City of",
                   "Cornwall", "Devon", "Dorset", "Gloucestershire", "Isles of Scilly", "North Somerset",
                   "Plymouth", "Somerset", "South Gloucestershire", "Swindon", "Torbay", "Wiltshire"),
}
# Relative size of an authority (number of schools): shire counties are several times a London borough.
LARGE = {"Lancashire", "Kent", "Essex", "Hampshire", "Hertfordshire", "Surrey", "Norfolk", "Devon", "Lincolnshire",
         "North Yorkshire", "Staffordshire", "Birmingham", "Derbyshire", "Nottinghamshire", "Suffolk", "Somerset",
         "Cornwall", "Cumbria", "Leeds", "Oxfordshire", "Cambridgeshire", "West Sussex", "Gloucestershire",
         "Leicestershire", "Wiltshire", "Worcestershire", "Warwickshire", "Northamptonshire", "Buckinghamshire",
         "East Sussex", "County Durham", "Manchester", "Bradford", "Sheffield", "Shropshire"}
TINY = {"City of London", "Isles of Scilly", "Rutland"}

# Ofsted's spellings of "Type of education", with shares. Maintained ~1/3, academies ~2/3 (2025).
MAINTAINED_TYPES = (("Community School", 0.56), ("Voluntary Controlled School", 0.13),
                    ("Voluntary Aided School", 0.18), ("Foundation School", 0.06),
                    ("Community Special School", 0.04), ("LA Nursery School", 0.015),
                    ("Foundation Special School", 0.005), ("Pupil Referral Unit", 0.01))
ACADEMY_TYPES = (("Academy Converter", 0.66), ("Academy Sponsor Led", 0.20), ("Free School", 0.07),
                 ("Academy Special Converter", 0.025), ("Academy Special Sponsor Led", 0.01),
                 ("Academy Alternative Provision Converter", 0.01), ("Free School Special", 0.01),
                 ("University Technical College", 0.004), ("Studio School", 0.003),
                 ("Academy 16-19 Converter", 0.008))
ACADEMY_SHARE = 2 / 3

# Overall effectiveness at the latest / previous graded inspection: 1 outstanding, 2 good, 3 RI, "4SWK",
# "4SM". The previous one is worse on the whole (schools improve between inspections, and RI schools are
# re-inspected sooner, so more of the earlier inspections are RI).
LATEST = (("1", 0.18), ("2", 0.72), ("3", 0.08), ("4SWK", 0.01), ("4SM", 0.01))
PREVIOUS = (("1", 0.15), ("2", 0.62), ("3", 0.20), ("4SWK", 0.015), ("4SM", 0.015))
# After a below-good previous inspection the latest is more likely RI again (stuck schools). Together
# these give about 11% RI, 1.2% SWK and 1.2% SM at the latest inspection.
LATEST_AFTER_BELOW_GOOD = (("1", 0.03), ("2", 0.70), ("3", 0.23), ("4SWK", 0.02), ("4SM", 0.02))

FIRST_DAY = date(2014, 9, 1)  # ten years of graded inspections ...
LAST_DAY = date(2024, 8, 31)  # ... to the end of overall grades
NOT_YET_INSPECTED = 0.012  # new schools with no graded inspection yet (all-NULL inspection columns)

PHASE_BY_TYPE = {"LA Nursery School": "Nursery", "Pupil Referral Unit": "PRU",
                 "Community Special School": "Special", "Foundation Special School": "Special",
                 "Academy Special Converter": "Special", "Academy Special Sponsor Led": "Special",
                 "Free School Special": "Special", "Academy Alternative Provision Converter": "PRU",
                 "University Technical College": "Secondary", "Studio School": "Secondary",
                 "Academy 16-19 Converter": "16 to 19"}
GIAS_TYPE = {"Community School": "Community school", "Voluntary Controlled School": "Voluntary controlled school",
             "Voluntary Aided School": "Voluntary aided school", "Foundation School": "Foundation school",
             "Community Special School": "Community special school", "LA Nursery School": "Local authority nursery school",
             "Foundation Special School": "Foundation special school", "Pupil Referral Unit": "Pupil referral unit",
             "Academy Converter": "Academy converter", "Academy Sponsor Led": "Academy sponsor led",
             "Free School": "Free schools", "Academy Special Converter": "Academy special converter",
             "Academy Special Sponsor Led": "Academy special sponsor led",
             "Academy Alternative Provision Converter": "Academy alternative provision converter",
             "Free School Special": "Free schools special", "University Technical College": "University technical college",
             "Studio School": "Studio schools", "Academy 16-19 Converter": "Academy 16-19 converter"}

PLACES = ("Ash", "Beech", "Birch", "Brook", "Castle", "Cedar", "Church", "Elm", "Fern", "Field", "Glen", "Green",
          "Hall", "Hazel", "Heath", "High", "Hill", "Holly", "Kings", "Lake", "Lark", "Lime", "Marsh", "Meadow",
          "Mill", "Moor", "North", "Oak", "Orchard", "Park", "Pine", "Queens", "Ridge", "River", "Rose", "South",
          "Spring", "Stone", "Valley", "West", "Willow", "Wood")
ENDINGS = ("field", "gate", "wood", "ley", "ton", "bury", "ford", "dale", "side", "lands", "mead", "hurst")
SAINTS = ("St Mary's", "St John's", "St Peter's", "Holy Trinity", "St Andrew's", "Christ Church", "St Joseph's",
          "St Michael's", "All Saints", "St Paul's", "Our Lady's", "St Anne's")
TRUST_WORDS = ("Learning", "Education", "Academies", "Schools", "Partnership", "Alliance", "Collaborative")


@dataclass
class Inspection:
    number: str
    start: date
    end: date
    published: date
    kind: str
    grade: str  # "1".."3", "4SWK", "4SM"

    @property
    def overall(self) -> str:
        return self.grade[0]

    @property
    def category(self) -> str:
        return self.grade[1:]


@dataclass
class School:
    urn: int
    la: str
    la_code: int
    number: int
    name: str
    ofsted_type: str
    phase: str
    region: str
    religious: str | None
    diocese: str | None
    trust: str | None
    opened: date | None
    predecessor: School | None = None
    latest: Inspection | None = None
    previous: Inspection | None = None
    inspections: list[Inspection] = field(default_factory=list)

    @property
    def academy(self) -> bool:
        return self.ofsted_type not in dict(MAINTAINED_TYPES)


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


class Generator:
    def __init__(self, schools: int, seed: int):
        self.rng = random.Random(seed)
        self.count = schools
        self.next_urn = 100000
        self.next_inspection = 10000000
        self.authorities = self._authorities()

    def _authorities(self) -> list[tuple[str, int, str, float]]:
        """(name, LA code, region, weight) for each authority."""
        out, code = [], 201
        for region, names in REGIONS.items():
            for name in names:
                weight = 3.0 if name in LARGE else 0.05 if name in TINY else 1.0
                out.append((name, code, region, weight))
                code += 1
        return out

    def urn(self) -> int:
        self.next_urn += self.rng.randint(1, 3)
        return self.next_urn

    def name(self, ofsted_type: str, phase: str) -> tuple[str, str | None, str | None]:
        rng = self.rng
        place = rng.choice(PLACES) + rng.choice(ENDINGS)
        religious = diocese = None
        if ofsted_type.startswith("Voluntary") or (ofsted_type.startswith("Academy") and rng.random() < 0.2):
            saint = rng.choice(SAINTS)
            catholic = saint in ("St Joseph's", "Our Lady's") or rng.random() < 0.25
            religious = "Roman Catholic" if catholic else "Church of England"
            diocese = f"Diocese of {place.title()}" if catholic else f"Diocese of {rng.choice(PLACES)}chester"
            base = f"{saint} {'Catholic' if catholic else 'CofE'} {phase.title()} School"
            return f"{base}, {place}", religious, diocese
        suffix = {"Primary": "Primary School", "Secondary": "High School", "Special": "Special School",
                  "Nursery": "Nursery School", "PRU": "Learning Centre", "16 to 19": "Sixth Form College"}[phase]
        if ofsted_type.startswith(("Academy", "Free", "University", "Studio")) and rng.random() < 0.5:
            suffix = "Academy"
        return f"{place} {suffix}", religious, diocese

    def inspection(self, start: date, grade: str, kind: str) -> Inspection:
        self.next_inspection += 1
        start = weekday_on_or_after(start)
        end = start + timedelta(days=1)
        published = end + timedelta(days=self.rng.randint(14, 40))
        return Inspection(str(self.next_inspection), start, end, published, kind, grade)

    def history(self, school: School) -> None:
        """Latest and previous graded inspections, each within the ten years."""
        rng = self.rng
        if rng.random() < NOT_YET_INSPECTED:
            return
        previous_grade = pick(rng, PREVIOUS)
        below_good = previous_grade[0] in "34"
        latest_grade = pick(rng, LATEST_AFTER_BELOW_GOOD if below_good else LATEST)
        # Below-good schools are inspected again within about 30 months; good ones after four years or so.
        gap = rng.randint(380, 900) if below_good else rng.randint(900, 2200)
        latest_start = day_between(rng, FIRST_DAY + timedelta(days=gap), LAST_DAY - timedelta(days=45))
        previous_start = latest_start - timedelta(days=gap)
        has_previous = previous_start >= FIRST_DAY - timedelta(days=900) and rng.random() > 0.04
        if has_previous:
            school.previous = self.inspection(previous_start, previous_grade, "S5 Inspection")
            # The inspection after RI or a category is named after it, as in Ofsted's own files.
            latest_kind = {"4SM": "Schools into Special Measures Visit 5", "4SWK": "Serious Weaknesses S5 Reinspection",
                           "3": "Requires Improvement S5 Reinspection Visit 1"}.get(previous_grade, "S5 Inspection")
        else:
            latest_kind = "Academy First Section 5" if school.academy else "S5 Inspection"
        school.latest = self.inspection(latest_start, latest_grade, latest_kind)

    def schools(self) -> Iterator[School]:
        rng = self.rng
        weights = [w for *_, w in self.authorities]
        for _ in range(self.count):
            la, la_code, region, _ = rng.choices(self.authorities, weights)[0]
            academy = rng.random() < ACADEMY_SHARE
            ofsted_type = pick(rng, ACADEMY_TYPES if academy else MAINTAINED_TYPES)
            phase = PHASE_BY_TYPE.get(ofsted_type) or ("Primary" if rng.random() < 0.8 else "Secondary")
            name, religious, diocese = self.name(ofsted_type, phase)
            trust = None
            if academy:
                trust = f"{rng.choice(PLACES)} {rng.choice(TRUST_WORDS)} Trust"
            opened = None
            number = rng.randint(2000, 7999) if not academy else rng.randint(2000, 6999)
            school = School(self.urn(), la, la_code, number, name, ofsted_type, phase, region, religious, diocese,
                            trust, opened)
            if academy:
                school.opened = day_between(rng, date(2011, 4, 1), date(2024, 9, 1)).replace(day=1)
                if not ofsted_type.startswith(("University", "Studio", "Free")):
                    # A converter or sponsored academy replaced a maintained school, closed the day before.
                    pred_type = "Community School" if rng.random() < 0.7 else "Voluntary Controlled School"
                    if school.religious:
                        pred_type = "Voluntary Aided School"
                    school.predecessor = School(self.urn(), la, la_code, number, name.replace("Academy", "School"),
                                                pred_type, phase, region, religious, diocese, None, None)
            self.history(school)
            yield school


def fmt(day: date | None, sep: str = "/") -> str:
    return day.strftime(f"%d{sep}%m{sep}%Y") if day else "NULL"


def sub_grades(grade: str, rng: random.Random) -> list[str]:
    """Outcomes, teaching, leadership, personal development (1-4), early years, 16-19 (9 = not applicable)."""
    overall = int(grade[0])
    subs = [str(min(4, max(1, overall + rng.choice((-1, 0, 0, 0, 0, 1))))) for _ in range(4)]
    subs[rng.randrange(4)] = str(overall)  # the overall grade is one of the key judgements
    return subs + [rng.choice(("9", str(overall))), "9"]


def ofsted_row(school: School, rng: random.Random) -> list[str]:
    latest, previous = school.latest, school.previous
    pred = school.predecessor
    row = [
        f"http://www.ofsted.gov.uk/inspection-reports/find-inspection-report/provider/ELS/{school.urn}",
        str(1_000_000 + school.urn), str(school.urn), f"{school.la_code}{school.number:04d}", school.name,
        school.region, school.region, school.la, f"{school.la} Central", f"ZZ{school.urn % 90 + 1} 1AA",
        school.ofsted_type, school.phase,
        "Has a sixth form" if school.phase == "Secondary" and rng.random() < 0.5 else "Does not have a sixth form",
        str(pred.urn) if pred else "NULL", "", str(rng.randint(30, 1800)), str(rng.randint(1, 5)),
    ]
    if latest:
        row += [latest.number, fmt(latest.start), fmt(latest.end), fmt(latest.published), latest.kind,
                latest.kind if latest.kind.startswith("S5") else "S5 Inspection", "Schools - S5",
                latest.overall, latest.category, *sub_grades(latest.grade, rng)]
    else:
        row += ["NULL"] * 15
    if previous:
        row += [previous.number, fmt(previous.start), fmt(previous.end), fmt(previous.published),
                previous.overall, previous.category, *sub_grades(previous.grade, rng)]
    else:
        row += ["NULL"] * 12
    opened = school.opened
    reason = {"Academy Converter": "Academy Converter", "Academy Sponsor Led": "Academy Sponsor Led",
              "Free School": "Academy Free School"}.get(school.ofsted_type, "Not applicable")
    row += [fmt(opened), reason if opened else "Not applicable", "NULL", "Not applicable",
            str(rng.randint(30, 1800)), "NULL", "NULL"]
    assert len(row) == len(MI_2017_HEADER)
    return row


def gias_row(school: School, *, closed_on: date | None = None) -> list[str]:
    return [str(school.urn), str(school.la_code), school.la, str(school.number), school.name,
            GIAS_TYPE[school.ofsted_type], "Closed" if closed_on else "Open", school.phase,
            fmt(school.opened, "-") if school.opened else "", fmt(closed_on, "-") if closed_on else "",
            "Academy Converter" if closed_on else "", school.religious or "Does not apply",
            school.diocese or "Not applicable", school.trust or "Not applicable"]


def write(out: Path, schools: int, seed: int) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    generator = Generator(schools, seed)
    rng = random.Random(seed + 1)  # sub-judgements and filler, apart from the school stream
    paths = {"ofsted": out / "ofsted_national.csv", "establishments": out / "gias_establishments.csv",
             "links": out / "gias_links.csv"}
    with (paths["ofsted"].open("w", newline="", encoding="utf-8") as ofsted,
          paths["establishments"].open("w", newline="", encoding="cp1252") as gias,
          paths["links"].open("w", newline="", encoding="cp1252") as links):
        ofsted_csv, gias_csv, links_csv = csv.writer(ofsted), csv.writer(gias), csv.writer(links)
        ofsted_csv.writerow(MI_2017_HEADER)
        gias_csv.writerow(GIAS_HEADER)
        links_csv.writerow(LINKS_HEADER)
        for school in generator.schools():
            ofsted_csv.writerow(ofsted_row(school, rng))
            gias_csv.writerow(gias_row(school))
            pred = school.predecessor
            if pred:
                gias_csv.writerow(gias_row(pred, closed_on=school.opened - timedelta(days=1)))
                on = fmt(school.opened, "-")
                links_csv.writerow([pred.urn, school.urn, school.name, "Successor", on])
                links_csv.writerow([school.urn, pred.urn, pred.name, "Predecessor", on])
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the CSV files to")
    parser.add_argument("--schools", type=int, default=22000, help="number of open schools (rows of the Ofsted file)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed: the same seed gives the same files")
    args = parser.parse_args(argv)
    for kind, path in write(args.out, args.schools, args.seed).items():
        print(f"{kind}: {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()

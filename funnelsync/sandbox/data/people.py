"""People, owners and company names for the sandbox data (deterministic given the rng)."""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST = ("Ana", "Ben", "Chloe", "Dana", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jia", "Kofi",
         "Lena", "Marco", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma",
         "Victor", "Wen", "Ximena", "Yusuf", "Zoe")
LAST = ("Adler", "Bauer", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
        "Jensen", "Kim", "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Quist", "Rossi",
        "Silva", "Tanaka", "Umarov", "Vargas", "Weber", "Xu", "Yilmaz", "Zimmer")
WORDS = ("Acme", "Blue", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris",
         "Juniper", "Kite", "Lumen", "Maple", "Nimbus", "Orbit", "Pine", "Quartz", "Ridge")
SUFFIXES = ("Labs", "Systems", "Group", "Health", "Logistics", "Analytics", "Works", "Retail")
TITLES = ("VP Sales", "Head of Marketing", "CTO", "Software Engineer", "Director of Operations",
          "Marketing Manager", "CEO", "Procurement Lead", "Student", "Intern", None)
SF_INDUSTRIES = ("Technology", "Healthcare", "Finance", "Retail", "Manufacturing",
                 "Education", "Government", None)
HS_INDUSTRY = {"Technology": "COMPUTER_SOFTWARE", "Healthcare": "HOSPITAL_HEALTH_CARE",
               "Finance": "FINANCIAL_SERVICES", "Retail": "RETAIL",
               "Education": "EDUCATION_MANAGEMENT",
               "Manufacturing": "INDUSTRIAL_AUTOMATION", "Government": "GOVERNMENT_ADMINISTRATION"}
COUNTRIES = ("United States", "Germany", "United Kingdom", "France", "Brazil", "Japan",
             "India", "Canada", "Australia", "Spain")
SF_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", None)
HS_SOURCES = {"Web": "ORGANIC_SEARCH", "Phone Inquiry": "OFFLINE", "Partner Referral": "REFERRALS",
              "Purchased List": "OTHER_CAMPAIGNS", "Other": "DIRECT_TRAFFIC"}
EMPLOYEES = (3, 15, 40, 120, 480, 1500, 7000, 25000, None)


@dataclass(frozen=True)
class Owner:
    first: str
    last: str
    email: str
    title: str
    active: bool
    tz: str


@dataclass
class Person:
    first: str
    last: str
    company: str
    title: str | None
    industry: str | None
    employees: int | None
    country: str | None
    source: str | None
    sf_email: str
    sf_deleted: bool
    shared: bool


_OWNERS = (("Dana", "Kim", "Sales Director", True), ("Marco", "Rossi", "AE", True),
           ("Priya", "Patel", "AE", True), ("Sven", "Jensen", "AE", True),
           ("Nia", "Okafor", "SDR", True), ("Eli", "Evans", "SDR", True),
           ("Rosa", "Silva", "AE", True), ("Ivan", "Novak", "SDR", True),
           ("Tara", "Weber", "AE", True), ("Kofi", "Haddad", "AE", True),
           ("Lena", "Moreau", "AE (left)", False), ("Gus", "Adler", "SDR (left)", False))
# 1-based positions in owners(): the same people own records in both CRMs.
ACTIVE_OWNER_NUMBERS = tuple(i for i, o in enumerate(_OWNERS, start=1) if o[3])
INACTIVE_OWNER_NUMBERS = tuple(i for i, o in enumerate(_OWNERS, start=1) if not o[3])


def owners() -> list[Owner]:
    zones = ("America/New_York", "Europe/Berlin", "America/Los_Angeles", "Europe/London")
    return [Owner(first, last, f"{first.lower()}.{last.lower()}@funnelsync-demo.io", title,
                  active, zones[i % len(zones)])
            for i, (first, last, title, active) in enumerate(_OWNERS)]


def company_name(rng: random.Random, number: int) -> str:
    return f"{rng.choice(WORDS)} {rng.choice(SUFFIXES)} {number}"


def _domain(company: str) -> str:
    return company.lower().replace(" ", "-") + ".example"


def people(rng: random.Random, count: int) -> list[Person]:
    """`count` Salesforce leads' people; about 30% of the live ones are also HubSpot contacts."""
    result = []
    for i in range(1, count + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = company_name(rng, i)
        industry = rng.choice(SF_INDUSTRIES)
        deleted = rng.random() < 0.03
        result.append(Person(
            first=first, last=last, company=company, title=rng.choice(TITLES),
            industry=industry, employees=rng.choice(EMPLOYEES),
            country=rng.choice(COUNTRIES + (None,)), source=rng.choice(SF_SOURCES),
            # Salesforce keeps the case people typed; HubSpot stores e-mails lower-cased.
            sf_email=f"{first}.{last}{i}@{_domain(company).capitalize()}",
            sf_deleted=deleted, shared=not deleted and rng.random() < 0.31,
        ))
    return result


def hs_email_for(person: Person, rng: random.Random) -> str:
    email = person.sf_email.lower()
    return f" {email} " if rng.random() < 0.05 else email

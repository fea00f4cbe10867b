"""Turning each sender's way of saying country, device, referer… into clicktrack's one way."""

import ipaddress
import re
import unicodedata
from functools import cache, lru_cache
from urllib.parse import parse_qs, urlsplit

import pycountry

from analytics.senders.base import Device
from analytics.senders.fields import clean

CONTINENT_NAMES = {
    "AF": "Africa",
    "AN": "Antarctica",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "North America",
    "OC": "Oceania",
    "SA": "South America",
}

_CONTINENT_MEMBERS = {
    "AF": "DZ AO BJ BW BF BI CV CM CF TD KM CG CD CI DJ EG GQ ER SZ ET GA GM GH GN GW KE LS LR LY "
    "MG MW ML MR MU YT MA MZ NA NE NG RE RW SH ST SN SC SL SO ZA SS SD TZ TG TN UG EH ZM ZW",
    "AN": "AQ BV GS HM TF",
    "AS": "AF AM AZ BH BD BT BN KH CN CY GE HK IN ID IR IQ IL JP JO KZ KW KG LA LB MO MY MV MN MM "
    "NP KP OM PK PS PH QA SA SG KR LK SY TW TJ TH TL TR TM AE UZ VN YE IO CC CX",
    "EU": "AX AL AD AT BY BE BA BG HR CZ DK EE FO FI FR DE GI GR GG VA HU IS IE IM IT JE XK LV LI "
    "LT LU MT MD MC ME NL MK NO PL PT RO RU SM RS SK SI ES SJ SE CH UA GB",
    "NA": "AI AG AW BS BB BZ BM BQ VG CA KY CR CU CW DM DO SV GL GD GP GT HT HN JM MQ MX MS NI PA "
    "PR BL KN LC MF PM VC SX TT TC US VI",
    "OC": "AS AU CK FJ PF GU KI MH FM NR NC NZ NU NF MP PW PG PN WS SB TK TO TV VU WF UM",
    "SA": "AR BO BR CL CO EC FK GF GY PY PE SR UY VE",
}
CONTINENT_OF = {
    country: continent
    for continent, members in _CONTINENT_MEMBERS.items()
    for country in members.split()
}

# Names pycountry does not know: common English short forms, and the Spanish names Opptima's
# Latin American senders may use. Keys are compared folded (see _fold).
_COUNTRY_ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "u s a": "US",
    "u s": "US",
    "america": "US",
    "united states of america": "US",
    "russia": "RU",
    "turkey": "TR",
    "south korea": "KR",
    "korea": "KR",
    "republic of korea": "KR",
    "north korea": "KP",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "vietnam": "VN",
    "tanzania": "TZ",
    "moldova": "MD",
    "macedonia": "MK",
    "ivory coast": "CI",
    "cote d ivoire": "CI",
    "cape verde": "CV",
    "swaziland": "SZ",
    "palestine": "PS",
    "vatican": "VA",
    "vatican city": "VA",
    "micronesia": "FM",
    "holland": "NL",
    "the netherlands": "NL",
    "burma": "MM",
    "macau": "MO",
    "dr congo": "CD",
    "drc": "CD",
    "democratic republic of the congo": "CD",
    "republic of the congo": "CG",
    "congo": "CG",
    "uae": "AE",
    "brunei": "BN",
    "kosovo": "XK",
    "estados unidos": "US",
    "eeuu": "US",
    "ee uu": "US",
    "espana": "ES",
    "mexico": "MX",
    "peru": "PE",
    "brasil": "BR",
    "panama": "PA",
    "canada": "CA",
    "republica dominicana": "DO",
    "alemania": "DE",
    "francia": "FR",
    "reino unido": "GB",
    "italia": "IT",
    "paises bajos": "NL",
    "suiza": "CH",
    "belgica": "BE",
    "japon": "JP",
    "haiti": "HT",
    "trinidad y tobago": "TT",
    "suecia": "SE",
    "noruega": "NO",
    "dinamarca": "DK",
    "rusia": "RU",
    "turquia": "TR",
    "corea del sur": "KR",
    "sudafrica": "ZA",
    "nueva zelanda": "NZ",
    "irlanda": "IE",
    "polonia": "PL",
    "grecia": "GR",
    "marruecos": "MA",
    "egipto": "EG",
    "filipinas": "PH",
}

_DEVICES = {
    "desktop": Device.DESKTOP,
    "computer": Device.DESKTOP,
    "pc": Device.DESKTOP,
    "laptop": Device.DESKTOP,
    "mobile": Device.MOBILE,
    "smartphone": Device.MOBILE,
    "phone": Device.MOBILE,
    "feature phone": Device.MOBILE,
    "tablet": Device.TABLET,
    "phablet": Device.TABLET,
}
# How senders spell "we do not know" (Dub writes "Unknown" for city, region, browser and OS):
# stored as '', the one unknown, so that reports show no "Unknown" city beside the real ones.
_UNKNOWN = frozenset({"", "unknown", "n/a", "na", "none", "null", "undefined", "-", "(unknown)"})
# ...except "NA" where codes are sent: North America, Namibia, a region code such as Naples'.
_UNKNOWN_CODE = _UNKNOWN - {"na"}


def _fold(value: str) -> str:
    stripped = unicodedata.normalize("NFKD", value)
    stripped = "".join(char for char in stripped if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", stripped.casefold()).split())


@cache
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if name:
                index.setdefault(_fold(name), country.alpha_2)
    index.update(_COUNTRY_ALIASES)
    return index


@lru_cache(maxsize=4096)  # free-text names repeat (every prospect of a list in "Germany")
def country_code(value: str) -> str:
    """ISO 3166-1 alpha-2 from a code or a free-text name; empty when it names no country."""
    value = value.strip()
    if value.lower() in _UNKNOWN_CODE:
        return ""
    if len(value) == 2 and value.isalpha() and value.upper() in CONTINENT_OF:
        return value.upper()
    return _country_index().get(_fold(value), "")


def continent_code(given: str, country: str) -> str:
    """The sender's continent code when it is one ("NA" is North America), else the country's."""
    given = given.strip().upper()
    if given in CONTINENT_NAMES:
        return given
    return CONTINENT_OF.get(country, "")


def location(country: str, region: str, city: str, continent: str = "") -> dict[str, str]:
    """The click's country, region, city and continent as stored, whichever sender wrote them.

    Every parser goes through here, so "Unknown" (or "n/a", "-"…) becomes '' for every sender
    and field alike. ``country`` is a code or a free-text name; ``continent`` a code or ''.
    """
    code = country_code(country)
    return {
        "country": code,
        "region": known(region, code=True)[:100],
        "city": known(city)[:100],
        "continent": continent_code(continent, code),
    }


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is None:
        return "Kosovo" if code == "XK" else code
    return getattr(country, "common_name", None) or country.name


def device(value: str) -> str:
    folded = value.strip().lower()
    if folded in _UNKNOWN:
        return Device.UNKNOWN
    return _DEVICES.get(folded, Device.OTHER)


def known(value: str, *, code: bool = False) -> str:
    """A free-text value (city, region, browser, OS) as the sender wrote it, '' for "Unknown".

    With ``code``, the value may be a code (a region such as "CA"), so "NA" is kept.
    """
    value = value.strip()
    return "" if value.lower() in (_UNKNOWN_CODE if code else _UNKNOWN) else value


def referer_host(referer: str, referer_url: str) -> str:
    """Lower-case host without ``www.``; ``(direct)`` stays ``(direct)``; "Unknown" is ''."""
    for candidate in (referer, referer_url):
        candidate = candidate.strip()
        if candidate.lower() in _UNKNOWN:
            continue  # '' or "Unknown": the other field may still know
        if candidate.lower() == "(direct)":
            return "(direct)"
        try:
            host = urlsplit(candidate if "//" in candidate else f"//{candidate}").hostname or ""
        except ValueError:  # e.g. "http://[": not a URL, so no host to report
            return ""
        host = host.rstrip(".")
        return host.removeprefix("www.")[:255]
    return ""


def referer_full_url(referer_url: str) -> str:
    """The referring URL; '' for ``(direct)`` (the host says it) and for "Unknown"."""
    folded = referer_url.strip().lower()
    return "" if folded == "(direct)" or folded in _UNKNOWN else referer_url


def ip_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


_NO_UTM = {"utm_source": "", "utm_medium": "", "utm_campaign": ""}


def utm(given: dict, *urls: str) -> dict[str, str]:
    """utm_source/medium/campaign from the campaign or link fields, else from the URLs' queries.

    Each parameter is taken from the first place that has it: ``given``, then each URL in turn
    (the clicked URL, then e.g. the link's destination).
    """
    # Most URLs carry no UTM parameters: checked for cheaply, parsed only when asked.
    queries = (
        [_query(url) for url in urls if "utm_" in url]
        if not all(given.get(key) for key in ("utm_source", "utm_medium", "utm_campaign"))
        else []
    )

    if not queries and not given:
        return dict(_NO_UTM)

    def from_urls(key: str) -> str:
        # parse_qs drops empty values: a parameter present is one with a value.
        return next((query[key][0] for query in queries if query.get(key)), "")

    keys = ("utm_source", "utm_medium", "utm_campaign")
    return {key: clean(given.get(key) or from_urls(key))[:255] for key in keys}


def _query(url: str) -> dict[str, list[str]]:
    try:
        return parse_qs(urlsplit(url).query)
    except ValueError:  # e.g. "http://[": not a URL, so no parameters to read
        return {}

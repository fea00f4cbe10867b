"""Unit tests of analytics.senders.normalize: each sender's wording into clicktrack's one way."""

import pycountry
import pytest

from analytics.senders import normalize as n

CHROME_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36"
)
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)


# --- country_code ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("US", "US"),
        ("us", "US"),
        ("Co", "CO"),
        ("XK", "XK"),  # Kosovo: user-assigned, but every geo-IP service sends it
        ("USA", "US"),
        ("DEU", "DE"),
        ("col", "CO"),
    ],
)
def test_country_code_accepts_iso_codes_in_any_case(value, code):
    assert n.country_code(value) == code


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("United States", "US"),
        ("Germany", "DE"),
        ("Colombia", "CO"),
        ("united kingdom", "GB"),
        ("  Brazil ", "BR"),
        ("Viet Nam", "VN"),
        ("Czechia", "CZ"),
        ("Korea, Republic of", "KR"),
        ("Taiwan", "TW"),
        ("Bolivia", "BO"),
        ("Côte d'Ivoire", "CI"),
        ("Côte d\u2019Ivoire", "CI"),  # typographic apostrophe
    ],
)
def test_country_code_reads_english_names(value, code):
    assert n.country_code(value) == code


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("uk", "GB"),
        ("UK", "GB"),
        ("England", "GB"),
        ("Russia", "RU"),
        ("South Korea", "KR"),
        ("Vietnam", "VN"),
        ("Ivory Coast", "CI"),
        ("The Netherlands", "NL"),
        ("Holland", "NL"),
        ("UAE", "AE"),
        ("DR Congo", "CD"),
        ("Kosovo", "XK"),
    ],
)
def test_country_code_reads_common_aliases(value, code):
    assert n.country_code(value) == code


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("México", "MX"),
        ("Mexico", "MX"),
        ("Perú", "PE"),
        ("PERÚ", "PE"),
        ("Estados Unidos", "US"),
        ("EE. UU.", "US"),
        ("España", "ES"),
        ("Brasil", "BR"),
        ("Panamá", "PA"),
        ("República Dominicana", "DO"),
        ("Japón", "JP"),
        ("Reino Unido", "GB"),
    ],
)
def test_country_code_reads_spanish_names_with_or_without_accents(value, code):
    assert n.country_code(value) == code


@pytest.mark.parametrize(
    "value", ["", "   ", "Atlantis", "ZZ", "12", "X", "Not a country", "N/A", "Unknown", "🇺🇸"]
)
def test_country_code_is_empty_for_junk(value):
    assert n.country_code(value) == ""


# --- continents -----------------------------------------------------------------------------


def test_every_iso_country_has_a_continent():
    missing = [c.alpha_2 for c in pycountry.countries if c.alpha_2 not in n.CONTINENT_OF]

    assert missing == []


def test_continents_are_known_codes_and_countries_are_real():
    assert set(n.CONTINENT_OF.values()) == set(n.CONTINENT_NAMES)
    unknown = [
        code
        for code in n.CONTINENT_OF
        if code != "XK" and pycountry.countries.get(alpha_2=code) is None
    ]
    assert unknown == []


def test_no_country_is_listed_under_two_continents():
    listed = [code for members in n._CONTINENT_MEMBERS.values() for code in members.split()]

    assert len(listed) == len(set(listed))


@pytest.mark.parametrize(
    ("country", "continent"),
    [("CO", "SA"), ("MX", "NA"), ("US", "NA"), ("DE", "EU"), ("JP", "AS"), ("AU", "OC")],
)
def test_continent_is_derived_from_the_country(country, continent):
    assert n.continent_code("", country) == continent


def test_a_continent_given_by_the_sender_wins_when_valid():
    assert n.continent_code(" eu ", "US") == "EU"
    assert n.continent_code("Europe", "US") == "NA"  # not a code: fall back to the country
    assert n.continent_code("", "") == ""


# --- device, browser, os ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "device"),
    [
        ("Desktop", "desktop"),
        ("desktop", "desktop"),
        ("Computer", "desktop"),
        ("laptop", "desktop"),
        ("Mobile", "mobile"),
        (" MOBILE ", "mobile"),
        ("smartphone", "mobile"),
        ("Phone", "mobile"),
        ("Tablet", "tablet"),
        ("phablet", "tablet"),
        ("Smart TV", "other"),
        ("console", "other"),
        ("wearable", "other"),
        ("", ""),
        ("Unknown", ""),
        ("n/a", ""),
        ("null", ""),
        ("(unknown)", ""),
    ],
)
def test_device_maps_sender_words_to_clicktracks_devices(value, device):
    assert n.device(value) == device


def test_known_treats_unknown_as_nothing():
    assert n.known("Unknown") == ""
    assert n.known("unknown") == ""
    assert n.known("  UNKNOWN ") == ""
    assert n.known("") == ""
    assert n.known("N/A") == ""


def test_known_keeps_real_names_as_the_sender_wrote_them():
    assert n.known(" Chrome ") == "Chrome"
    assert n.known("Mac OS") == "Mac OS"
    assert n.known("Samsung Internet") == "Samsung Internet"


# --- "unknown", in every field ----------------------------------------------------------------

# How senders write "we do not know": Dub's "Unknown", and the usual stand-ins.
UNKNOWN_SPELLINGS = [
    "Unknown",
    "unknown",
    " UNKNOWN ",
    "(unknown)",
    "n/a",
    "N/A",
    "null",
    "None",
    "undefined",
    "-",
    "",
    "   ",
]
KNOWN = {"country": "US", "region": "CA", "city": "San Jose", "continent": "NA"}


def _location_with(field: str, value: str) -> dict[str, str]:
    given = KNOWN | {field: value}
    return n.location(given["country"], given["region"], given["city"], given["continent"])


# Each field as every parser reads it, from one value the sender wrote.
FIELD_READERS = {
    "country": lambda value: n.location(value, "", "", "")["country"],
    "region": lambda value: _location_with("region", value)["region"],
    "city": lambda value: _location_with("city", value)["city"],
    # Without a country to take it from: with one, the country's continent is known (below).
    "continent": lambda value: n.location("", "", "", value)["continent"],
    "device": n.device,
    "browser": n.known,
    "os": n.known,
    "referer": lambda value: n.referer_host(value, ""),
    "referer_url": n.referer_full_url,
}


@pytest.mark.parametrize("spelling", UNKNOWN_SPELLINGS)
@pytest.mark.parametrize("field", FIELD_READERS)
def test_every_unknown_spelling_is_stored_as_unknown_in_every_field(field, spelling):
    assert FIELD_READERS[field](spelling) == ""


@pytest.mark.parametrize("spelling", UNKNOWN_SPELLINGS)
@pytest.mark.parametrize("field", ["region", "city"])
def test_an_unknown_place_leaves_the_other_fields_as_they_were(field, spelling):
    assert _location_with(field, spelling) == KNOWN | {field: ""}


@pytest.mark.parametrize("spelling", UNKNOWN_SPELLINGS)
def test_an_unknown_continent_is_the_countrys_and_an_unknown_country_keeps_the_continent(
    spelling,
):
    assert _location_with("continent", spelling) == KNOWN  # the US is in North America
    assert _location_with("country", spelling) == KNOWN | {"country": ""}


def test_na_is_a_code_where_codes_are_sent_and_unknown_elsewhere():
    # North America, Namibia, and a region code such as Naples' (IT-NA).
    assert n.location("NA", "NA", "NA", "NA") == {
        "country": "NA",
        "region": "NA",
        "city": "",
        "continent": "NA",
    }
    assert (n.device("NA"), n.known("NA")) == ("", "")


def test_location_keeps_real_places_and_bounds_them():
    assert n.location(" Colombia ", " Distrito Capital ", " Bogotá ") == {
        "country": "CO",
        "region": "Distrito Capital",
        "city": "Bogotá",
        "continent": "SA",
    }
    assert n.location("", "r" * 150, "c" * 150)["region"] == "r" * 100
    assert n.location("", "r" * 150, "c" * 150)["city"] == "c" * 100


def test_direct_is_direct_not_unknown():
    assert n.referer_host("(direct)", "(direct)") == "(direct)"
    assert n.referer_host("Unknown", "(direct)") == "(direct)"  # the URL field still knows
    assert n.referer_host("Unknown", "https://www.linkedin.com/") == "linkedin.com"


# --- referer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("referer", "referer_url", "host"),
    [
        ("(direct)", "", "(direct)"),
        ("(Direct)", "(direct)", "(direct)"),
        ("https://www.LinkedIn.com/feed", "", "linkedin.com"),
        ("linkedin.com", "", "linkedin.com"),
        ("linkedin.com", "https://www.linkedin.com/", "linkedin.com"),
        ("", "https://www.linkedin.com/feed/update/123", "linkedin.com"),
        ("https://news.ycombinator.com:443/item?id=1", "", "news.ycombinator.com"),
        ("www.google.com.", "", "google.com"),
        ("", "", ""),
        ("   ", "", ""),
    ],
)
def test_referer_host_is_a_lower_case_host_without_www(referer, referer_url, host):
    assert n.referer_host(referer, referer_url) == host


def test_referer_full_url_drops_direct():
    assert n.referer_full_url("(direct)") == ""
    assert n.referer_full_url("https://www.linkedin.com/") == "https://www.linkedin.com/"


# --- ip -------------------------------------------------------------------------------------


def test_ip_address_is_normalized_or_none():
    assert n.ip_address(" 52.234.41.119 ") == "52.234.41.119"
    assert n.ip_address("2001:DB8::1") == "2001:db8::1"
    assert n.ip_address("not an ip") is None
    assert n.ip_address("") is None


# --- utm ------------------------------------------------------------------------------------

URL_WITH_UTM = (
    "https://shop.example/spring?utm_source=url-source&utm_medium=url-medium"
    "&utm_campaign=url-campaign"
)


def test_utm_fields_given_by_the_sender_win_over_the_url_query():
    given = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring-sale"}

    assert n.utm(given, URL_WITH_UTM) == given


def test_utm_fields_missing_from_the_sender_come_from_the_url_query():
    given = {"utm_source": "newsletter", "utm_medium": "", "utm_campaign": None}

    assert n.utm(given, URL_WITH_UTM) == {
        "utm_source": "newsletter",
        "utm_medium": "url-medium",
        "utm_campaign": "url-campaign",
    }


def test_utm_parameters_come_from_the_first_url_that_has_each():
    click_url = "https://shop.example/spring?utm_source=click-source"
    destination = "https://shop.example/spring?utm_source=link-source&utm_campaign=link-campaign"

    assert n.utm({"utm_medium": "email"}, click_url, destination) == {
        "utm_source": "click-source",
        "utm_medium": "email",
        "utm_campaign": "link-campaign",
    }
    assert n.utm({}, "http://[::1", destination)["utm_campaign"] == "link-campaign"


def test_utm_is_empty_without_fields_or_query():
    empty = {"utm_source": "", "utm_medium": "", "utm_campaign": ""}

    assert n.utm({}, "https://shop.example/spring") == empty
    assert n.utm({}, "") == empty
    assert n.utm({}, "http://[::1") == empty  # an unparsable URL is not an error


def test_utm_values_are_cleaned_and_bounded():
    result = n.utm({"utm_source": " news\x00letter "}, f"https://x.example/?utm_medium={'m' * 300}")

    assert result["utm_source"] == "newsletter"
    assert result["utm_medium"] == "m" * 255

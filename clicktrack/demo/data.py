"""Static tables behind clicktrack.demo: places, devices, referers and the demo campaigns.

Tables are pipe-separated text rather than Python literals so that a hundred cities stay one line
each and can be read (and corrected) like a spreadsheet.
"""

import ipaddress
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    code: str
    weight: float  # share of the global audience (Dub, Heyoo, Woodpecker)
    latam_weight: float  # share of Opptima's Latin American newsletter audience
    english: tuple[str, ...]  # Woodpecker's free-text names; the first is the usual one
    spanish: str  # Opptima's countryName
    continent: str


@dataclass(frozen=True)
class City:
    country: Country
    name: str
    region_code: str  # what Dub and Heyoo send as region
    region_name: str  # what Woodpecker (state) and Opptima (regionName) send
    latitude: float
    longitude: float
    time_zone: str
    weight: float


def _rows(table: str) -> list[list[str]]:
    return [line.split("|") for line in table.strip().splitlines()]


# Long word lists read better as text than as list literals of quoted words.
def _words(text: str, separator: str | None = None) -> list[str]:
    return text.split(separator)


# code | global weight | LatAm weight | English name(s) | Spanish name | continent
_COUNTRIES = """
US|30|3.5|United States/USA/United States of America|Estados Unidos|NA
GB|9|0|United Kingdom/UK/England|Reino Unido|EU
DE|7|0|Germany|Alemania|EU
IN|6.5|0|India|India|AS
BR|5|0.6|Brazil|Brasil|SA
CO|4|40|Colombia|Colombia|SA
FR|4|0|France|Francia|EU
CA|4|0|Canada|Canadá|NA
MX|3.5|14|Mexico|México|NA
ES|3|3|Spain|España|EU
NL|2.2|0|Netherlands/The Netherlands|Países Bajos|EU
AU|2|0|Australia|Australia|OC
IT|1.8|0|Italy|Italia|EU
PL|1.4|0|Poland|Polonia|EU
CH|1.1|0|Switzerland|Suiza|EU
SE|1|0|Sweden|Suecia|EU
AR|1|4.5|Argentina|Argentina|SA
CL|0.9|5|Chile|Chile|SA
PE|0.8|9|Peru|Perú|SA
PT|0.7|0|Portugal|Portugal|EU
IE|0.7|0|Ireland|Irlanda|EU
JP|0.7|0|Japan|Japón|AS
SG|0.6|0|Singapore|Singapur|AS
AE|0.5|0|United Arab Emirates/UAE|Emiratos Árabes Unidos|AS
BE|0.5|0|Belgium|Bélgica|EU
AT|0.5|0|Austria|Austria|EU
DK|0.4|0|Denmark|Dinamarca|EU
NO|0.35|0|Norway|Noruega|EU
FI|0.3|0|Finland|Finlandia|EU
CZ|0.3|0|Czech Republic/Czechia|Chequia|EU
NG|0.3|0|Nigeria|Nigeria|AF
ZA|0.3|0|South Africa|Sudáfrica|AF
PH|0.3|0|Philippines|Filipinas|AS
ID|0.25|0|Indonesia|Indonesia|AS
TR|0.25|0|Turkey|Turquía|AS
IL|0.25|0|Israel|Israel|AS
KR|0.2|0|South Korea|Corea del Sur|AS
NZ|0.2|0|New Zealand|Nueva Zelanda|OC
EC|0.2|5|Ecuador|Ecuador|SA
RO|0.15|0|Romania|Rumania|EU
KE|0.15|0|Kenya|Kenia|AF
GR|0.12|0|Greece|Grecia|EU
UA|0.12|0|Ukraine|Ucrania|EU
VN|0.12|0|Vietnam|Vietnam|AS
UY|0.1|1|Uruguay|Uruguay|SA
HU|0.1|0|Hungary|Hungría|EU
VE|0.08|3|Venezuela|Venezuela|SA
CR|0.08|2|Costa Rica|Costa Rica|NA
EG|0.08|0|Egypt|Egipto|AF
DO|0.06|2|Dominican Republic|República Dominicana|NA
PA|0.06|2|Panama|Panamá|NA
MA|0.06|0|Morocco|Marruecos|AF
GT|0.05|2|Guatemala|Guatemala|NA
EE|0.05|0|Estonia|Estonia|EU
LU|0.04|0|Luxembourg|Luxemburgo|EU
BO|0.03|1|Bolivia|Bolivia|SA
PY|0.03|0.8|Paraguay|Paraguay|SA
IS|0.03|0|Iceland|Islandia|EU
HN|0.02|0.8|Honduras|Honduras|NA
SV|0.02|0.7|El Salvador|El Salvador|NA
PR|0.02|0.5|Puerto Rico|Puerto Rico|NA
NI|0.01|0.3|Nicaragua|Nicaragua|NA
"""

# country | city | region code | region name | latitude | longitude | time zone | weight
_CITIES = """
US|New York|NY|New York|40.7128|-74.006|America/New_York|10
US|San Francisco|CA|California|37.7749|-122.4194|America/Los_Angeles|6
US|Los Angeles|CA|California|34.0522|-118.2437|America/Los_Angeles|5
US|Chicago|IL|Illinois|41.8781|-87.6298|America/Chicago|5
US|Austin|TX|Texas|30.2672|-97.7431|America/Chicago|4
US|Seattle|WA|Washington|47.6062|-122.3321|America/Los_Angeles|3
US|Boston|MA|Massachusetts|42.3601|-71.0589|America/New_York|3
US|Miami|FL|Florida|25.7617|-80.1918|America/New_York|3
US|Denver|CO|Colorado|39.7392|-104.9903|America/Denver|2
GB|London|ENG|England|51.5074|-0.1278|Europe/London|10
GB|Manchester|ENG|England|53.4808|-2.2426|Europe/London|2
GB|Edinburgh|SCT|Scotland|55.9533|-3.1883|Europe/London|1.5
DE|Berlin|BE|Berlin|52.52|13.405|Europe/Berlin|5
DE|Munich|BY|Bavaria|48.1351|11.582|Europe/Berlin|3
DE|Hamburg|HH|Hamburg|53.5511|9.9937|Europe/Berlin|2
DE|Frankfurt am Main|HE|Hesse|50.1109|8.6821|Europe/Berlin|2
IN|Bengaluru|KA|Karnataka|12.9716|77.5946|Asia/Kolkata|5
IN|Mumbai|MH|Maharashtra|19.076|72.8777|Asia/Kolkata|4
IN|New Delhi|DL|Delhi|28.6139|77.209|Asia/Kolkata|3
IN|Hyderabad|TG|Telangana|17.385|78.4867|Asia/Kolkata|2.5
BR|São Paulo|SP|São Paulo|-23.5505|-46.6333|America/Sao_Paulo|6
BR|Rio de Janeiro|RJ|Rio de Janeiro|-22.9068|-43.1729|America/Sao_Paulo|3
BR|Belo Horizonte|MG|Minas Gerais|-19.9167|-43.9345|America/Sao_Paulo|1.5
CO|Bogotá|DC|Distrito Capital de Bogotá|4.711|-74.0721|America/Bogota|10
CO|Medellín|ANT|Antioquia|6.2442|-75.5812|America/Bogota|5
CO|Cali|VAC|Valle del Cauca|3.4516|-76.532|America/Bogota|3
CO|Barranquilla|ATL|Atlántico|10.9685|-74.7813|America/Bogota|2
CO|Cartagena|BOL|Bolívar|10.391|-75.4794|America/Bogota|1.5
CO|Bucaramanga|SAN|Santander|7.1193|-73.1227|America/Bogota|1
FR|Paris|IDF|Île-de-France|48.8566|2.3522|Europe/Paris|6
FR|Lyon|ARA|Auvergne-Rhône-Alpes|45.764|4.8357|Europe/Paris|2
CA|Toronto|ON|Ontario|43.6532|-79.3832|America/Toronto|5
CA|Vancouver|BC|British Columbia|49.2827|-123.1207|America/Vancouver|3
CA|Montréal|QC|Quebec|45.5017|-73.5673|America/Toronto|3
MX|Ciudad de México|CMX|Ciudad de México|19.4326|-99.1332|America/Mexico_City|6
MX|Guadalajara|JAL|Jalisco|20.6597|-103.3496|America/Mexico_City|2.5
MX|Monterrey|NLE|Nuevo León|25.6866|-100.3161|America/Monterrey|2.5
MX|Querétaro|QUE|Querétaro|20.5888|-100.3899|America/Mexico_City|1
ES|Madrid|MD|Madrid|40.4168|-3.7038|Europe/Madrid|5
ES|Barcelona|CT|Catalonia|41.3874|2.1686|Europe/Madrid|4
ES|Valencia|VC|Valencian Community|39.4699|-0.3763|Europe/Madrid|1.5
NL|Amsterdam|NH|North Holland|52.3676|4.9041|Europe/Amsterdam|4
NL|Rotterdam|ZH|South Holland|51.9244|4.4777|Europe/Amsterdam|1.5
AU|Sydney|NSW|New South Wales|-33.8688|151.2093|Australia/Sydney|4
AU|Melbourne|VIC|Victoria|-37.8136|144.9631|Australia/Melbourne|3
IT|Milan|25|Lombardy|45.4642|9.19|Europe/Rome|3
IT|Rome|62|Lazio|41.9028|12.4964|Europe/Rome|2
PL|Warsaw|MZ|Masovia|52.2297|21.0122|Europe/Warsaw|3
PL|Kraków|MA|Lesser Poland|50.0647|19.945|Europe/Warsaw|2
PL|Wrocław|DS|Lower Silesia|51.1079|17.0385|Europe/Warsaw|1.5
CH|Zürich|ZH|Zurich|47.3769|8.5417|Europe/Zurich|3
CH|Genève|GE|Geneva|46.2044|6.1432|Europe/Zurich|1.5
SE|Stockholm|AB|Stockholm|59.3293|18.0686|Europe/Stockholm|3
SE|Göteborg|O|Västra Götaland|57.7089|11.9746|Europe/Stockholm|1.5
AR|Buenos Aires|C|Buenos Aires|-34.6037|-58.3816|America/Argentina/Buenos_Aires|5
AR|Córdoba|X|Córdoba|-31.4201|-64.1888|America/Argentina/Cordoba|1.5
CL|Santiago|RM|Región Metropolitana|-33.4489|-70.6693|America/Santiago|5
CL|Valparaíso|VS|Valparaíso|-33.0472|-71.6127|America/Santiago|1
PE|Lima|LMA|Lima|-12.0464|-77.0428|America/Lima|6
PE|Arequipa|ARE|Arequipa|-16.409|-71.5375|America/Lima|1
PE|Trujillo|LAL|La Libertad|-8.1116|-79.0288|America/Lima|0.7
PT|Lisbon|11|Lisbon|38.7223|-9.1393|Europe/Lisbon|3
IE|Dublin|L|Leinster|53.3498|-6.2603|Europe/Dublin|3
JP|Tokyo|13|Tokyo|35.6762|139.6503|Asia/Tokyo|4
SG|Singapore|01|Central Singapore|1.3521|103.8198|Asia/Singapore|1
AE|Dubai|DU|Dubai|25.2048|55.2708|Asia/Dubai|3
BE|Brussels|BRU|Brussels|50.8503|4.3517|Europe/Brussels|2
AT|Vienna|9|Vienna|48.2082|16.3738|Europe/Vienna|3
DK|Copenhagen|84|Capital Region|55.6761|12.5683|Europe/Copenhagen|3
NO|Oslo|03|Oslo|59.9139|10.7522|Europe/Oslo|3
FI|Helsinki|18|Uusimaa|60.1699|24.9384|Europe/Helsinki|3
CZ|Prague|10|Prague|50.0755|14.4378|Europe/Prague|3
NG|Lagos|LA|Lagos|6.5244|3.3792|Africa/Lagos|3
ZA|Johannesburg|GP|Gauteng|-26.2041|28.0473|Africa/Johannesburg|2
PH|Manila|00|Metro Manila|14.5995|120.9842|Asia/Manila|2
ID|Jakarta|JK|Jakarta|-6.2088|106.8456|Asia/Jakarta|2
TR|İstanbul|34|Istanbul|41.0082|28.9784|Europe/Istanbul|3
IL|Tel Aviv|TA|Tel Aviv|32.0853|34.7818|Asia/Jerusalem|3
KR|Seoul|11|Seoul|37.5665|126.978|Asia/Seoul|1
NZ|Auckland|AUK|Auckland|-36.8485|174.7633|Pacific/Auckland|2
EC|Quito|P|Pichincha|-0.1807|-78.4678|America/Guayaquil|2
EC|Guayaquil|G|Guayas|-2.171|-79.9224|America/Guayaquil|2
RO|Bucharest|B|Bucharest|44.4268|26.1025|Europe/Bucharest|2
KE|Nairobi|30|Nairobi|-1.2921|36.8219|Africa/Nairobi|1
GR|Athens|I|Attica|37.9838|23.7275|Europe/Athens|2
UA|Kyiv|30|Kyiv|50.4501|30.5234|Europe/Kyiv|2
VN|Ho Chi Minh City|SG|Ho Chi Minh|10.8231|106.6297|Asia/Ho_Chi_Minh|2
UY|Montevideo|MO|Montevideo|-34.9011|-56.1645|America/Montevideo|1
HU|Budapest|BU|Budapest|47.4979|19.0402|Europe/Budapest|1
VE|Caracas|A|Distrito Capital|10.4806|-66.9036|America/Caracas|2
CR|San José|SJ|San José|9.9281|-84.0907|America/Costa_Rica|1
EG|Cairo|C|Cairo|30.0444|31.2357|Africa/Cairo|1
DO|Santo Domingo|01|Distrito Nacional|18.4861|-69.9312|America/Santo_Domingo|1
PA|Ciudad de Panamá|8|Panamá|8.9824|-79.5199|America/Panama|1
MA|Casablanca|06|Casablanca-Settat|33.5731|-7.5898|Africa/Casablanca|1
GT|Ciudad de Guatemala|GU|Guatemala|14.6349|-90.5069|America/Guatemala|1
EE|Tallinn|37|Harju|59.437|24.7536|Europe/Tallinn|1
LU|Luxembourg|LU|Luxembourg|49.6116|6.1319|Europe/Luxembourg|1
BO|La Paz|L|La Paz|-16.4897|-68.1193|America/La_Paz|1
PY|Asunción|ASU|Asunción|-25.2637|-57.5759|America/Asuncion|1
IS|Reykjavík|1|Capital Region|64.1466|-21.9426|Atlantic/Reykjavik|1
HN|Tegucigalpa|FM|Francisco Morazán|14.0723|-87.1921|America/Tegucigalpa|1
SV|San Salvador|SS|San Salvador|13.6929|-89.2182|America/El_Salvador|1
PR|San Juan|SJ|San Juan|18.4655|-66.1057|America/Puerto_Rico|1
NI|Managua|MN|Managua|12.114|-86.2362|America/Managua|1
"""


COUNTRIES = {
    code: Country(code, float(weight), float(latam), tuple(english.split("/")), spanish, continent)
    for code, weight, latam, english, spanish, continent in _rows(_COUNTRIES)
}
CITIES = [
    City(COUNTRIES[code], name, region, region_name, float(lat), float(lon), zone, float(weight))
    for code, name, region, region_name, lat, lon, zone, weight in _rows(_CITIES)
]
CITIES_BY_COUNTRY: dict[str, list[City]] = {}
for _city in CITIES:
    CITIES_BY_COUNTRY.setdefault(_city.country.code, []).append(_city)

# Where most people browse on Android rather than iPhone.
ANDROID_COUNTRIES = set(_words("IN BR CO MX AR PE EC VE ID NG KE PH VN EG MA BO PY HN SV NI GT TR"))

# Where people's IPv4 addresses come from, by continent: blocks of consumer ISPs (cable, DSL,
# fibre; e.g. Comcast's 73.0.0.0/8, Deutsche Telekom's 84.128.0.0/10) for homes and offices,
# and of mobile carriers (e.g. T-Mobile US's 172.32.0.0/11) for phones off Wi-Fi. Broad blocks
# can hold a hosting provider's network: world draws again whenever the datacenter list names
# the address, so a person is never flagged as a datacenter by accident.
# continent | home or mobile | networks (rows of one continent and kind add up)
_PEOPLE_NETWORKS = """
NA|home|73.0.0.0/8 98.192.0.0/10 67.160.0.0/11 71.192.0.0/12 174.48.0.0/12 24.0.0.0/12
NA|home|99.0.0.0/10 108.192.0.0/10 70.112.0.0/12 99.224.0.0/11 174.88.0.0/13 70.48.0.0/13
NA|mobile|172.32.0.0/11 174.192.0.0/10 107.64.0.0/10 166.128.0.0/9
EU|home|86.128.0.0/10 81.128.0.0/12 79.192.0.0/10 84.128.0.0/10 87.128.0.0/10 93.192.0.0/10
EU|home|91.0.0.0/10 90.0.0.0/9 2.0.0.0/12 88.160.0.0/11 83.32.0.0/11 88.0.0.0/11 83.0.0.0/11
EU|home|77.160.0.0/11 89.64.0.0/12 80.0.0.0/11 79.0.0.0/11
EU|mobile|92.40.0.0/13 31.94.0.0/15 37.80.0.0/12 46.114.0.0/15 80.187.0.0/16
SA|home|177.0.0.0/8 179.0.0.0/8 181.0.0.0/8 186.0.0.0/8 187.0.0.0/8 189.0.0.0/8 190.0.0.0/8
SA|home|200.0.0.0/8 201.0.0.0/8
SA|mobile|191.0.0.0/8 179.0.0.0/8
AS|home|122.160.0.0/12 117.192.0.0/10 126.0.0.0/8 78.160.0.0/11 85.96.0.0/12 79.176.0.0/13
AS|home|113.160.0.0/11 36.64.0.0/11 94.200.0.0/13 60.0.0.0/8 14.0.0.0/8 58.0.0.0/8 59.0.0.0/8
AS|mobile|49.32.0.0/11 106.192.0.0/11 157.32.0.0/12 114.120.0.0/13 27.64.0.0/13
AF|home|41.0.0.0/8 102.0.0.0/8 105.0.0.0/8 197.0.0.0/8
AF|mobile|105.112.0.0/12 41.90.0.0/15 197.210.0.0/16
OC|home|101.160.0.0/11 120.16.0.0/12 124.168.0.0/13 110.140.0.0/14 125.236.0.0/14 58.160.0.0/12
OC|mobile|1.128.0.0/11 49.176.0.0/12
"""


def _networks(cidrs: str) -> list[tuple[int, int]]:
    """IPv4 networks as (first address, size): drawing from one is then an integer draw."""
    return [
        (int(net.network_address), net.num_addresses)
        for net in map(ipaddress.IPv4Network, cidrs.split())
    ]


PEOPLE_NETWORKS: dict[str, dict[str, list[tuple[int, int]]]] = {}
for _continent, _kind, _cidrs in _rows(_PEOPLE_NETWORKS):
    PEOPLE_NETWORKS.setdefault(_continent, {}).setdefault(_kind, []).extend(_networks(_cidrs))
# Home ISPs' and mobile carriers' IPv6 prefixes (none is in the datacenter list).
IPV6_PREFIXES = {
    "NA": ("2600:1700", "2601:18c", "2603:8000", "2607:fb90"),
    "EU": ("2a00:23c5", "2a01:cb00", "2a02:810d", "2a02:a03f"),
    "SA": ("2800:e2", "2801:1e0", "2804:14c", "2804:7f0"),
    "AS": ("2401:4900", "2405:201", "2409:4042", "240d:1a"),
    "AF": ("2c0f:f4c0", "2c0f:fe38"),
    "OC": ("2001:8003", "2403:5800"),
}

# device | os | browser | weight | user agent. Names follow ua-parser-js, which Dub uses; <X> are
# the shared pieces below, {c} {f} {s} Chrome, Firefox and Safari versions, {i} iOS, {a} Android.
_USER_AGENTS = """
Desktop|Windows|Chrome|36|<W> <K> <C> Safari/537.36
Desktop|Windows|Edge|13|<W> <K> <C> Safari/537.36 Edg/{c}.0.0.0
Desktop|Windows|Firefox|4|Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{f}.0) <G>
Desktop|Mac OS|Chrome|18|<M> <K> <C> Safari/537.36
Desktop|Mac OS|Safari|12|<M> <S> Version/{s} Safari/605.1.15
Desktop|Mac OS|Firefox|2|Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{f}.0) <G>
Desktop|Linux|Chrome|3|Mozilla/5.0 (X11; Linux x86_64) <K> <C> Safari/537.36
Desktop|Linux|Firefox|2|Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{f}.0) <G>
Desktop|Chromium OS|Chrome|2|Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) <K> <C> Safari/537.36
Mobile|iOS|Mobile Safari|40|Mozilla/5.0 (iPhone; <I>) <S> Version/{s} <T>
Mobile|iOS|Chrome|7|Mozilla/5.0 (iPhone; <I>) <S> CriOS/{c}.0.0.0 <T>
Mobile|Android|Chrome|36|<A>; K) <K> <C> <MS>
Mobile|Android|Samsung Browser|8|<A>; SAMSUNG SM-S921B) <K> SamsungBrowser/25.0 <C> <MS>
Mobile|Android|Firefox|1|Mozilla/5.0 (Android {a}; Mobile; rv:{f}.0) Gecko/{f}.0 Firefox/{f}.0
Tablet|iOS|Mobile Safari|6|Mozilla/5.0 (iPad; CPU OS {i} like Mac OS X) <S> Version/{s} <T>
Tablet|Android|Chrome|3|<A>; SM-X710) <K> <C> Safari/537.36
"""
_UA_PARTS = {
    "W": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    "M": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
    "I": "CPU iPhone OS {i} like Mac OS X",
    "A": "Mozilla/5.0 (Linux; Android {a}",
    "K": "AppleWebKit/537.36 (KHTML, like Gecko)",
    "S": "AppleWebKit/605.1.15 (KHTML, like Gecko)",
    "C": "Chrome/{c}.0.0.0",
    "G": "Gecko/20100101 Firefox/{f}.0",
    "T": "Mobile/15E148 Safari/604.1",
    "MS": "Mobile Safari/537.36",
}
USER_AGENTS = [
    (device, os, browser, float(weight), re.sub(r"<(\w+)>", lambda m: _UA_PARTS[m[1]], agent))
    for device, os, browser, weight, agent in _rows(_USER_AGENTS)
]

# Where machines fetch links from. LinkedIn, Meta and X run their crawlers on their own networks,
# which the datacenter list does not name (it lists hosting providers, not these companies); the
# others are search engines' crawler ranges and cloud and hosting networks, all in the list.
# operator | country | networks
_MACHINE_NETWORKS = """
google|US|66.249.64.0/19
microsoft|US|40.77.167.0/24 157.55.39.0/24 207.46.13.0/24
linkedin|US|108.174.0.0/20
meta|US|69.171.224.0/19 173.252.64.0/18
x|US|199.16.156.0/22 199.59.148.0/22
ahrefs|FR|54.36.148.0/23
aws|US|3.80.0.0/12 54.209.0.0/16
aws-frankfurt|DE|3.120.0.0/14 18.196.0.0/15
gcp|US|35.203.0.0/16 35.184.0.0/13
azure|US|13.64.0.0/11 52.160.0.0/11
ovh|FR|51.68.0.0/16 188.165.0.0/16
hetzner|DE|5.9.0.0/16 88.198.0.0/16
digitalocean|US|159.203.0.0/16 104.131.0.0/16 142.93.0.0/16
"""
MACHINE_NETWORKS = {
    operator: (country, _networks(cidrs)) for operator, country, cidrs in _rows(_MACHINE_NETWORKS)
}

# Link unfurlers and crawlers: they fetch a link as soon as someone posts or shares it (Slack,
# LinkedIn, Facebook, X) or crawl it later (search engines, SEO tools, scripts). Dub drops them
# before sending; Heyoo sends their clicks like anyone's, except the search engines' crawlers,
# which it flags itself in the demo (bot: true). Weights: LinkedIn unfurls most, as most Heyoo
# posts are LinkedIn posts.
# user agent | operator | weight | flagged by Heyoo
CRAWLERS = [
    (agent, operator, float(weight), flagged == "yes")
    for agent, operator, weight, flagged in _rows("""
LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)|linkedin|6|-
Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)|aws|3|-
facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)|meta|2|-
Twitterbot/1.0|x|1.5|-
Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)|google|1.5|yes
Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)|microsoft|1|yes
Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)|ahrefs|0.7|-
python-requests/2.32.3|aws-frankfurt|0.5|-
curl/8.7.1|aws-frankfurt|0.3|-
Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/126.0.0.0 Safari/537.36|gcp|0.5|-
""")
]
# Machines posing as a desktop browser (link checkers, preview services, scrapers): only their
# cloud address gives them away. Operator weights.
CLOUD_FETCHERS = {"aws": 3, "azure": 2, "gcp": 2, "digitalocean": 1.5, "hetzner": 1, "ovh": 1}

# An app opening a Dub deep link fetches it with its HTTP library's user agent; Dub counts these
# clicks (ua-parser-js finds no device, browser or OS in it: "Desktop", "Unknown", "Unknown").
APP_AGENTS = ("okhttp/4.12.0",)

# E-mail security gateways (Microsoft Defender Safe Links, Proofpoint, Mimecast) follow every
# link of a message on delivery. Woodpecker prospects at these companies are behind one.
GATEWAY_COMPANIES = frozenset(("Initech", "Globex", "Massive Dynamic"))  # 3 of 25: 12%
# Where gateways' sandboxes run: Opptima reports a scanner's click at its datacenter's place.
GATEWAY_PLACES = (("US", "Chicago"), ("US", "San Francisco"), ("BR", "São Paulo"),
                  ("IE", "Dublin"), ("NL", "Amsterdam"))  # fmt: skip
# Links every e-mail carries besides the campaign's own (a signature, a footer), which a
# scanner follows too.
EMAIL_FOOTER_LINKS = {
    "woodpecker": ("https://lumora.io/",),
    "opptima": ("https://www.lumora.co/", "https://www.instagram.com/lumora.co"),
}

# host | full referer URL | weight for Dub | weight for Heyoo. Heyoo clicks come from employees'
# posts, so mostly LinkedIn; Dub links travel everywhere.
REFERERS = [
    (host, url, float(dub), float(heyoo))
    for host, url, dub, heyoo in _rows("""
(direct)|(direct)|36|18
google.com|https://www.google.com/|14|3
linkedin.com|https://www.linkedin.com/|11|52
x.com|https://x.com/|4|5
t.co|https://t.co/{token}|2|2
twitter.com|https://twitter.com/|0.6|0.5
facebook.com|https://www.facebook.com/|5|6
l.instagram.com|https://l.instagram.com/|1.5|3
bing.com|https://www.bing.com/|2|0.5
duckduckgo.com|https://duckduckgo.com/|1|0.2
news.ycombinator.com|https://news.ycombinator.com/item?id={number}|2|0.3
reddit.com|https://www.reddit.com/r/marketing/comments/{token}/|2|0.5
youtube.com|https://www.youtube.com/|1.5|0.5
github.com|https://github.com/|1.5|0.1
mail.google.com|https://mail.google.com/|1.5|1
chatgpt.com|https://chatgpt.com/|1|0.2
producthunt.com|https://www.producthunt.com/posts/lumora-insights|0.8|0.2
techcrunch.com|https://techcrunch.com/|0.5|0.1
nytimes.com|https://www.nytimes.com/|0.3|0.1
eltiempo.com|https://www.eltiempo.com/tecnosfera|0.15|0.1
spiegel.de|https://www.spiegel.de/netzwelt/|0.15|0.05
teams.microsoft.com|https://teams.microsoft.com/|0.3|0.4
""")
]

FIRST_NAMES = _words(
    "James Mary Olivia Liam Noah Emma Sophia Lucas Mia Ethan Amelia Oliver Priya Arjun Ananya "
    "Rahul Wei Yuki Hiroshi Chloé Léa Hélène François Jürgen Lena Lukas Jörg Søren Åsa Björn Zoë "
    "Anaïs Inês María José Sofía Camila Valentina Mateo Santiago Sebastián Andrés Alejandro Lucía "
    "Martín Gabriel João Ana Tomás Catalina Diego Nicolás Fernanda Juliana Wojciech Agnieszka "
    "Małgorzata Paweł Siobhán Aoife Seán Chidi Amara Kwame Fatima Omar"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Garcia Miller Davis Wilson Taylor Anderson Patel Sharma Gupta "
    "Nguyen Kim Tanaka Müller Schmidt Schröder Weiß Dubois Lefèvre Moreau Rossi Bianchi Jansen "
    "Nilsson Kowalski Nowak Wiśniewski O'Brien Murphy Rodríguez Martínez González Hernández López "
    "Pérez Gómez Díaz Ramírez Torres Muñoz Castaño Jiménez Restrepo Ospina Silva Santos Conceição "
    "Oliveira Fernández Ibáñez Peña Okafor Mensah Cohen Levi Öztürk Ahmed Haddad"
)
COMPANIES = _words(
    "Bachmanity|Hooli|Initech|Vandelay Industries|Globex|Soylent Labs|Umbrella Analytics|"
    "Stark Logistics|Wayne Fintech|Cyberdyne Cloud|Tyrell Data|Nakatomi Trading|Aperture Health|"
    "Monarch Solar|Wonka Foods|Dunder Mifflin|Pied Piper|Gringotts Pay|Oceanic Freight|"
    "Blue Sun Retail|Massive Dynamic|Acme Robotics|Sterling Cooper|Bluth Homes|Los Pollos Hermanos",
    "|",
)
TITLES = _words(
    "CEO|CTO|COO|Founder|VP Marketing|VP Sales|Head of Growth|Marketing Manager|Sales Director|"
    "Demand Generation Lead|Head of Partnerships|Product Manager|RevOps Manager",
    "|",
)
MAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "icloud.com")
REPLIES = (
    "Thanks, happy to chat next week.",
    "Not the right time for us, maybe next quarter.",
    "Can you send pricing?",
    "Please remove me from your list.",
    "Interesting, looping in our Head of Growth.",
)

# Every campaign table ends with the same five columns: popularity | start | end | launch spike |
# e-mail sends ("-" for none). Times are fractions of the demo period, so a 10-day demo and a
# 90-day demo have the same shape; spikes and sends start bursts of clicks that fade over days.
# Woodpecker sends are fractions of the campaign's own run: its sequence steps.

# name | utm_campaign | path on lumora.io | objective | content pillar | …
HEYOO_CAMPAIGNS = _rows("""
Summer Referral Push|summer_referral|/summer|increase_awareness|Promotions|3|0|0.5|-|-
Product Launch: Lumora Insights|insights_launch|/insights|drive_traffic|Product|5|0.55|1|0.6|-
We're Hiring Engineers|hiring_engineers|/careers|recruit_talent|Employer Brand|2|0|1|-|-
State of Click Analytics 2025|state_of_clicks|/report|generate_leads|Research|3|0.2|0.8|-|-
Customer Story: Globex|case_globex|/customers/globex|increase_awareness|Customers|1.5|0.3|1|-|-
Webinar: Attribution 101|webinar_attribution|/webinars/101|generate_leads|Events|2|0.1|0.45|0.12|-
Black Friday Deals|black_friday|/deals|drive_traffic|Promotions|3|0.75|0.95|0.8|-
Meet Us at SaaStr|saastr_booth|/events/saastr|increase_awareness|Events|1|0.4|0.6|-|-
Postgres at Scale|eng_blog_postgres|/blog/postgres|increase_awareness|Engineering|1|0|1|-|-
Partner Program|partner_program|/partners|generate_leads|Partnerships|0.8|0|1|-|-
Lanzamiento en Latinoamérica|lanzamiento_latam|/es/latam|increase_awareness|Product|1.2|0.5|1|-|-
Holiday Giving|holiday_giving|/giving|increase_awareness|Community|0.7|0.85|1|-|-
""")

# id | name | prospects' countries (* anywhere) | links clicked (paths on lumora.io) | …
WOODPECKER_CAMPAIGNS = _rows("""
123456|SaaS in America|US CA|/demo /customers https://calendly.com/lumora/intro|3|0|0.7|-|0 .3 .6 .9
123790|DACH Outbound Q3|DE AT CH|/de/demo /de/preise|2|0.1|0.6|-|0 .3 .6 .9
124012|Agencies UK & Ireland|GB IE|/agencies https://calendly.com/lumora/uk|2|0.3|0.9|-|0 .3 .6 .9
124388|Fintech CFOs|*|/fintech /security|1.5|0.2|1|-|0 .3 .6 .9
124501|Ecommerce Founders|*|/ecommerce /pricing?utm_source=woodpecker|2|0.45|1|-|0 .3 .6 .9
124733|LatAm Expansion|MX CO BR AR CL PE|/es/demo /pt/demo|1.5|0.5|1|-|0 .3 .6 .9
124902|Nordics Pilot|SE NO DK FI|/demo https://calendly.com/lumora/nordics|1|0.6|1|-|0 .3 .6 .9
125117|Webinar Follow-up|*|/webinars/101/recording|1|0.15|0.5|-|0 .3 .6 .9
""")

# campid | campaignName | subject | destinations (paths on lumora.co) | …
OPPTIMA_CAMPAIGNS = _rows("""
48213|Boletín mensual|Novedades del mes 🚀|/blog https://wa.me/573001234567|3|0.05|1|-|.05 .38 .72
48377|Día sin IVA|¡Solo por hoy: 30% menos!|/sin-iva?utm_source=opptima /planes|2|0.3|1|-|0.3
48402|Webinar Marketing Digital|Te esperamos el jueves|/webinar /webinar/agenda|1.5|0.15|1|-|.15 .2
48519|Encuesta de satisfacción|¿Cómo lo estamos haciendo?|/encuesta|1|0.55|1|-|0.55
48644|Lanzamiento App Móvil|Ya puedes descargar nuestra app|/app /app/android|1.5|0.6|1|-|0.6 0.85
48790|Black Friday LatAm|Black Friday: hasta 50% OFF|/black-friday /planes|3|0.8|1|-|0.8 0.83
""")

# domain | key | destination | utm_source | utm_medium | utm_campaign | share of mobile visitors
# who scan a QR code | …  Links sharing a utm_campaign are grouped as one campaign by intake.
DUB_LINKS = _rows("""
lmr.to|launch-li|https://lumora.io/insights|linkedin|social|insights-launch|0.1|4|0.55|1|0.6|-
lmr.to|launch-x|https://lumora.io/insights|twitter|social|insights-launch|0.1|2|0.55|1|0.6|-
lmr.to|launch-nl|https://lumora.io/insights|newsletter|email|insights-launch|0.04|2|0.55|1|0.62|-
lmr.to|bf-ads|https://lumora.io/pricing|facebook|paid_social|black-friday|0.1|3|0.75|1|0.8|-
lmr.to|bf-email|https://lumora.io/pricing|newsletter|email|black-friday|0.04|2|0.75|1|0.8|-
lmr.to|webinar-101|https://lumora.io/webinars/101|linkedin|social|webinar-101|0.1|2|0.1|1|-|-
dub.sh|lumora-docs|https://docs.lumora.io/||||0.1|3|0|1|-|-
dub.sh|lumora-gh|https://github.com/lumora-analytics/lumora||||0.04|3|0|1|-|-
lmr.to|demo|https://lumora.io/demo||||0.2|4|0|1|-|-
lmr.to|pricing|https://lumora.io/pricing||||0.2|3|0|1|-|-
lmr.to|podcast-42|https://podcast.lumora.io/episodes/42||||0.2|1.5|0.3|1|0.32|-
lmr.to|careers|https://lumora.io/careers||||0.2|1|0|1|-|-
lmr.to|booth|https://lumora.io/events/saastr||||0.75|1|0.4|1|0.45|-
dub.sh|lumora-changelog|https://lumora.io/changelog||||0.1|1.5|0|1|-|-
lmr.to|es|https://lumora.io/es||||0.2|1|0.5|1|-|-
""")

# Payload templates: every field each sender documents, in its order, with the values that do not
# vary in the demo; the generator fills in the rest. Fields without a value are null (Dub,
# Heyoo) or "" (Woodpecker), as their documentation says.
DUB_WORKSPACE = "ws_clrei1gld0002vs9mzn93p8ik"
DUB_LINK = dict.fromkeys(_words(
    "id domain key url trackConversion externalId tenantId programId partnerId archived "
    "expiresAt expiredUrl disabledAt password proxy title description image video rewrite "
    "doIndex ios android geo publicStats folderId tagId tags webhookIds comments shortLink "
    "qrCode utm_source utm_medium utm_campaign utm_term utm_content userId workspaceId clicks "
    "lastClicked leads sales saleAmount createdAt updatedAt projectId testVariants "
    "testCompletedAt testStartedAt"
)) | {
    "trackConversion": True, "archived": False, "proxy": False, "rewrite": False,
    "doIndex": False, "publicStats": False, "tags": [], "webhookIds": ["wh_lumora0demo00000001"],
    "userId": "cludszk1h0000wmd2e0ea2b0p", "workspaceId": DUB_WORKSPACE,
    "projectId": DUB_WORKSPACE.removeprefix("ws_"),
}  # fmt: skip
HEYOO_CAMPAIGN = dict.fromkeys(_words(
    "id name shareContext objective description domain destinationUrl utm_source utm_medium "
    "utm_campaign utm_term utm_content ref clicks shares targetShares startDate endDate "
    "shareRewardAmount clickRewardAmount rewardType maxRewardPerEmployee totalBudget "
    "consumedBudget minimumClicksForReward uniqueClicksOnly status creatorId workspaceId "
    "workspaceSlug contentPillarName createdAt updatedAt"
)) | {
    "domain": "lumora.io", "utm_source": "heyoo", "utm_medium": "referral", "targetShares": 200,
    "shareRewardAmount": 10, "rewardType": "points", "maxRewardPerEmployee": 500,
    "minimumClicksForReward": 5, "uniqueClicksOnly": True, "status": "active",
    "workspaceId": "ws_cm3lumora0000demo000000", "workspaceSlug": "lumora",
}  # fmt: skip
WOODPECKER_FIRM = 456789
WOODPECKER_PROSPECT = dict.fromkeys(_words(
    "id email first_name last_name company website linkedin_url tags title phone address city "
    "country snippet1 snippet2 snippet3 snippet4 snippet5 snippet6 snippet7 snippet8 snippet9 "
    "snippet10 snippet11 snippet12 snippet13 snippet14 snippet15 snippet_labels industry state "
    "last_contacted status in_campaign emails_sent imported interested campaign_id "
    "campaign_name campaign_email campaign_emails campaign_email_sent step step_type"
), "") | {
    "tags": "#DEMO", "industry": "IT", "in_campaign": 1, "campaign_email": "sales@lumora.io",
    "campaign_emails": ["sales@lumora.io"], "step_type": "EMAIL",
}  # fmt: skip
OPPTIMA_ACCOUNT = "7731"

# Dub's "Send test event" posts this sample as it is (dubinc/dub,
# apps/web/lib/webhook/sample-events/link-clicked.json; tests/payloads/dub/link_clicked.json):
# always this click, dated February 2025, on Dub's own link dub.sh/track-test. Intake keeps it as
# a test delivery and never counts it.
DUB_TEST_SAMPLE = {
    "click": {
        "id": "yNrYm0F6r1KMnq6N", "timestamp": "2025-02-03T09:35:57.926Z",
        "url": "https://github.com/dubinc/dub", "country": "US", "city": "San Jose",
        "region": "CA", "continent": "NA", "device": "Desktop", "browser": "Unknown",
        "os": "Unknown", "ua": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36"
        " (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36", "referer": "(direct)",
        "refererUrl": "(direct)", "qr": False, "ip": "52.234.41.119",
    },
    "link": DUB_LINK | {
        "id": "cm0lcuvtz000xcutmqw4a7wi3", "domain": "dub.sh", "key": "track-test",
        "url": "https://github.com/dubinc/dub", "partnerId": "pn_cm0lcuvtz000xcutmqw4a7wi3",
        "programId": "prog_CYCu7IMAapjkRpTnr8F1azjN",
        "title": "GitHub - dubinc/dub: Open-source link management infrastructure. Loved by modern"
        " marketing teams like Vercel, Raycast...",
        "description": "Open-source link management infrastructure. Loved by modern marketing teams"
        " like Vercel, Raycast, and Perplexity. - dubinc/dub",
        "image": "https://repository-images.githubusercontent.com/529708137/"
        "419e9be4-a9d1-4c85-9f83-47a78ad92583",
        "webhookIds": [], "shortLink": "https://dub.sh/track-test",
        "qrCode": "https://api.dub.co/qr?url=https://dub.sh/track-test?qr=1", "clicks": 882,
        "lastClicked": "2025-01-14T04:49:10.000Z", "leads": 3631, "sales": 2811,
        "saleAmount": 290300, "createdAt": "2024-09-02T18:49:56.136Z",
        "updatedAt": "2025-01-13T22:46:22.152Z",
    },
}  # fmt: skip

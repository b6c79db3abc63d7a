"""Static sandbox catalog: countries, buyer names, streets, goods words, carriers per region."""

from __future__ import annotations

from ._data import Carrier

__all__ = [
    "COUNTRIES",
    "FIRST_NAMES",
    "GOODS",
    "LAST_NAMES",
    "SPECS",
    "Country",
    "carriers_for_region",
]


class Country:
    """A buyer country: TEMU ``regionId``/``siteId``, currency, VAT and sample places."""

    __slots__ = ("currency", "iso", "name", "places", "region_id", "site_id", "streets", "vat")

    def __init__(
        self,
        iso: str,
        name: str,
        region_id: int,
        site_id: int,
        currency: str,
        vat: int,
        places: tuple[tuple[str, str, str], ...],
        streets: tuple[str, ...],
    ) -> None:
        self.iso, self.name, self.region_id, self.site_id = iso, name, region_id, site_id
        self.currency, self.vat, self.places, self.streets = currency, vat, places, streets


# (country, weight): Germany dominates like a German seller's real order mix.
# fmt: off
COUNTRIES: tuple[tuple[Country, int], ...] = (
    (Country("DE", "Germany", 76, 105, "EUR", 19, (
        ("München", "80331", "Bayern"), ("Köln", "50667", "Nordrhein-Westfalen"),
        ("Düsseldorf", "40213", "Nordrhein-Westfalen"), ("Görlitz", "02826", "Sachsen"),
        ("Saarbrücken", "66111", "Saarland"), ("Lübeck", "23552", "Schleswig-Holstein"),
    ), ("Hauptstraße", "Schloßallee", "Königsweg", "Am Mühlbach", "Große Straße",
        "Weißdornweg")), 50),
    (Country("AT", "Austria", 13, 143, "EUR", 20, (
        ("Wien", "1010", "Wien"), ("Graz", "8010", "Steiermark"),
        ("Innsbruck", "6020", "Tirol"), ("Mödling", "2340", "Niederösterreich"),
    ), ("Mariahilfer Straße", "Getreidegasse", "Grünentorgasse", "Straßäcker")), 12),
    (Country("FR", "France", 69, 106, "EUR", 20, (
        ("Paris", "75001", "Île-de-France"), ("Orléans", "45000", "Centre-Val de Loire"),
        ("Besançon", "25000", "Bourgogne-Franche-Comté"),
    ), ("Rue de la Paix", "Avenue des Champs-Élysées", "Rue Molière")), 12),
    (Country("IT", "Italy", 98, 107, "EUR", 22, (
        ("Milano", "20121", "Lombardia"), ("Forlì", "47121", "Emilia-Romagna"),
    ), ("Via Roma", "Corso Città")), 8),
    (Country("ES", "Spain", 186, 109, "EUR", 21, (
        ("Málaga", "29001", "Andalucía"), ("A Coruña", "15001", "Galicia"),
    ), ("Calle Mayor", "Avenida de la Constitución")), 6),
    (Country("NL", "Netherlands", 141, 108, "EUR", 21, (
        ("Amsterdam", "1015 AA", "Noord-Holland"), ("Utrecht", "3511 AB", "Utrecht"),
    ), ("Keizersgracht", "Oudegracht")), 6),
    (Country("PL", "Poland", 162, 112, "PLN", 23, (
        ("Łódź", "90-001", "łódzkie"), ("Kraków", "31-001", "małopolskie"),
    ), ("ulica Marszałkowska", "ulica Żeromskiego")), 4),
    (Country("BE", "Belgium", 20, 142, "EUR", 21, (
        ("Liège", "4000", "Wallonie"), ("Gent", "9000", "Oost-Vlaanderen"),
    ), ("Rue Neuve", "Veldstraat")), 2),
)
# fmt: on

FIRST_NAMES = (
    "Jürgen",
    "Günther",
    "Jörg",
    "Björn",
    "Zoë",
    "Renée",
    "Łukasz",
    "Małgorzata",
    "Ildikó",
    "Erzsébet",
    "Tomáš",
    "Anaïs",
    "François",
    "Søren",
    "Hans-Peter",
    "Anna",
    "Lena",
    "Max",
)
LAST_NAMES = (
    "Müller",
    "Schröder",
    "Weiß",
    "Groß",
    "Strauß",
    "Köhler",
    "Böhm",
    "Nowak",
    "Wiśniewski",
    "Dvořák",
    "Čapek",
    "Szőke",
    "Horváth",
    "Lefèvre",
    "García",
    "Muñoz",
    "Meißner",
    "Schmidt",
)
GOODS = (
    "Edelstahl Thermobecher",
    "LED Lichterkette",
    "Baumwoll Geschirrtuch",
    "Küchenwaage",
    "Gartenschere",
    "Fußmatte",
    "Schlüsselanhänger",
    "Handyhülle",
    "Wärmflasche",
    "Kräutertopf",
    "Bürstenset",
    "Trinkflasche",
    "Rucksack",
    "Schneidebrett",
)
SPECS = (
    ("Schwarz", "Weiß", "Grün", "Blau"),
    ("S", "M", "L", "XL"),
    ("500 ml", "750 ml", "1 l"),
)

_EU_REGIONS = tuple(country.region_id for country, _ in COUNTRIES)
_COMMON_EU = (
    Carrier(141252268, "DHL", "DHL", r"^(\d{12}|\d{20}|JJD\d{18})$"),
    Carrier(998264853, "DPD", "DPD", r"^\d{14}$"),
    Carrier(998264860, "GLS", "GLS", r"^(\d{11,12}|[A-Z0-9]{8})$"),
    Carrier(998264871, "Hermes", "Hermes", r"^[A-Z0-9]{14,20}$"),
    Carrier(998264882, "Deutsche Post", "Deutsche Post", r"^[A-Z]{2}\d{9}DE$"),
    Carrier(314439762, "UPS", "UPS", r"^1Z[A-Z0-9]{16}$"),
)
_LOCAL = {
    13: Carrier(998265013, "Österreichische Post", "Post AT", r"^[A-Z0-9]{10,22}$"),
    69: Carrier(998265069, "La Poste Colissimo", "Colissimo", r"^[A-Z0-9]{11,15}$"),
    98: Carrier(998265098, "Poste Italiane", "Poste Italiane", r"^[A-Z0-9]{12,16}$"),
    186: Carrier(998265186, "Correos", "Correos", r"^[A-Z0-9]{13,23}$"),
    141: Carrier(998265141, "PostNL", "PostNL", r"^[A-Z0-9]{13,15}$"),
    162: Carrier(998265162, "InPost", "InPost", r"^\d{24}$"),
    20: Carrier(998265020, "bpost", "bpost", r"^[A-Z0-9]{13,24}$"),
}
_US = (
    Carrier(314439762, "UPS", "UPS", r"^1Z[A-Z0-9]{16}$"),
    Carrier(960246690, "USPS", "USPS", r"^\d{20,22}$"),
    Carrier(699272611, "FedEx", "FedEx", r"^\d{12}(\d{3})?$"),
)


def carriers_for_region(region_id: int) -> tuple[Carrier, ...]:
    """The carriers TEMU lists for a ``regionId`` (empty for regions the sandbox lacks)."""
    if region_id == 211:
        return _US
    if region_id in _EU_REGIONS:
        local = _LOCAL.get(region_id)
        return (*_COMMON_EU, local) if local else _COMMON_EU
    return ()

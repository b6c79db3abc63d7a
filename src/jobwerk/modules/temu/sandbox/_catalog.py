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
    """A buyer country: TEMU ``regionId``/``siteId``, currency, VAT, sample places and, where
    buyers write in their own script (Greek, Cyrillic), their names."""

    __slots__ = (
        "currency", "iso", "name", "names", "places", "region_id", "site_id", "streets", "vat",
    )  # fmt: skip

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
        names: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
    ) -> None:
        self.iso, self.name, self.region_id, self.site_id = iso, name, region_id, site_id
        self.currency, self.vat, self.places, self.streets = currency, vat, places, streets
        self.names = names


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
    (Country("GR", "Greece", 79, 115, "EUR", 24, (
        ("Αθήνα", "105 57", "Αττική"), ("Θεσσαλονίκη", "546 24", "Κεντρική Μακεδονία"),
        ("Πειραιάς", "185 35", "Αττική"), ("Ηράκλειο", "712 02", "Κρήτη"),
    ), ("Οδός Ερμού", "Λεωφόρος Βασιλίσσης Σοφίας", "Οδός Αγίου Δημητρίου"),
        (("Γιώργος", "Ευάγγελος", "Μαρία", "Αικατερίνη", "Δημήτρης"),
         ("Παπαδόπουλος", "Οικονόμου", "Γεωργίου", "Αυγουστάκης", "Μπακογιάννη"))), 2),
    (Country("CY", "Cyprus", 52, 117, "EUR", 19, (
        ("Λευκωσία", "1010", "Λευκωσία"), ("Λεμεσός", "3036", "Λεμεσός"),
    ), ("Λεωφόρος Μακαρίου", "Οδός Ανεξαρτησίας"),
        (("Ανδρέας", "Ελένη", "Χρίστος"), ("Χριστοδούλου", "Κυριάκου", "Ευαγγέλου"))), 1),
    (Country("BG", "Bulgaria", 32, 153, "EUR", 20, (
        ("София", "1000", "София-град"), ("Пловдив", "4000", "Пловдив"),
        ("Варна", "9000", "Варна"),
    ), ("ул. Витоша", "бул. Цар Освободител", "ул. Шипка"),
        (("Иван", "Мария", "Георги", "Цветелина", "Юлия"),
         ("Петров", "Иванова", "Жечев", "Щерев", "Христова"))), 2),
    (Country("CZ", "Czechia", 53, 154, "CZK", 21, (
        ("Praha", "110 00", "Hlavní město Praha"), ("Brno", "602 00", "Jihomoravský kraj"),
    ), ("Václavské náměstí", "Křižíkova")), 2),
    (Country("DK", "Denmark", 54, 155, "DKK", 25, (
        ("København", "1050", "Hovedstaden"), ("Århus", "8000", "Midtjylland"),
    ), ("Nørregade", "Åboulevarden")), 1),
    (Country("EE", "Estonia", 64, 156, "EUR", 24, (
        ("Tallinn", "10111", "Harju maakond"), ("Pärnu", "80010", "Pärnu maakond"),
    ), ("Pärnu maantee", "Õismäe tee")), 1),
    (Country("FI", "Finland", 68, 157, "EUR", 25, (
        ("Helsinki", "00100", "Uusimaa"), ("Jyväskylä", "40100", "Keski-Suomi"),
    ), ("Mannerheimintie", "Hämeenkatu")), 1),
    (Country("HR", "Croatia", 50, 158, "EUR", 25, (
        ("Zagreb", "10000", "Grad Zagreb"), ("Split", "21000", "Splitsko-dalmatinska"),
    ), ("Ulica kralja Držislava", "Šetalište Ivana Meštrovića")), 1),
    (Country("HU", "Hungary", 90, 159, "HUF", 27, (
        ("Budapest", "1051", "Budapest"), ("Győr", "9021", "Győr-Moson-Sopron"),
    ), ("Váci utca", "Szőlő utca")), 2),
    (Country("IE", "Ireland", 96, 116, "EUR", 23, (
        ("Dublin", "D02 X285", "County Dublin"), ("Cork", "T12 K8AF", "County Cork"),
    ), ("O'Connell Street", "Patrick Street")), 1),
    (Country("LV", "Latvia", 108, 161, "EUR", 21, (
        ("Rīga", "LV-1050", "Rīga"), ("Liepāja", "LV-3401", "Kurzeme"),
    ), ("Brīvības iela", "Ģertrūdes iela")), 1),
    (Country("LT", "Lithuania", 113, 162, "EUR", 21, (
        ("Vilnius", "01103", "Vilniaus apskritis"), ("Šiauliai", "76285", "Šiaulių apskritis"),
    ), ("Gedimino prospektas", "Žalgirio gatvė")), 1),
    (Country("LU", "Luxembourg", 114, 163, "EUR", 17, (
        ("Luxembourg", "L-1111", "Luxembourg"), ("Esch-sur-Alzette", "L-4002", "Esch"),
    ), ("Grand-Rue", "Rue de l'Alzette")), 1),
    (Country("MT", "Malta", 122, 164, "EUR", 18, (
        ("Valletta", "VLT 1010", "Malta"), ("Sliema", "SLM 1021", "Malta"),
    ), ("Triq ir-Repubblika", "Triq il-Kbira San Ġużepp")), 1),
    (Country("PT", "Portugal", 163, 111, "EUR", 23, (
        ("Lisboa", "1100-148", "Lisboa"), ("Porto", "4000-322", "Porto"),
    ), ("Rua Augusta", "Avenida da Liberdade")), 2),
    (Country("RO", "Romania", 167, 166, "RON", 21, (
        ("București", "010011", "București"), ("Cluj-Napoca", "400001", "Cluj"),
    ), ("Strada Ștefan cel Mare", "Bulevardul Țepeș")), 2),
    (Country("SK", "Slovakia", 180, 167, "EUR", 23, (
        ("Bratislava", "811 01", "Bratislavský kraj"), ("Košice", "040 01", "Košický kraj"),
    ), ("Štúrova", "Hlavná ulica")), 1),
    (Country("SI", "Slovenia", 181, 168, "EUR", 22, (
        ("Ljubljana", "1000", "Osrednjeslovenska"), ("Maribor", "2000", "Podravska"),
    ), ("Čopova ulica", "Slovenska cesta")), 1),
    (Country("SE", "Sweden", 191, 113, "SEK", 25, (
        ("Stockholm", "111 22", "Stockholms län"), ("Göteborg", "411 01", "Västra Götaland"),
    ), ("Drottninggatan", "Kungsgatan")), 2),
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
    "Ioana",
    "Žydrūnas",
    "Jānis",
    "Siobhán",
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
    "Ó Súilleabháin",
    "Bērziņš",
    "Ţepeş",
    "Kovačević",
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

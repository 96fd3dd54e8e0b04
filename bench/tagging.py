"""Tagging benchmark: how many articles per second one core can tag against the topics.

Run from the repository root::

    .venv/bin/python bench/tagging.py [--articles N] [--runs R] [--seed S] [--cpu C]

What is tagged: ``--articles`` synthetic articles (2,000 by default) of about 2,000 characters
each (title, summary, content), made by a seeded generator, so the same arguments always give
the same texts. About 70 % are in English, the rest in German, Russian, Ukrainian, Polish and
French (the article's ``language`` is set accordingly, so the Snowball stemmers run as they do
in production). A fifth are about the diplomacy of the war in Ukraine, each on one sub-topic
(security guarantees, peace talks, territory, frozen assets, NATO, US relations) with the odd
sentence on the others, so the default topics fire on them; an eighth are about the war
without the diplomacy (near misses); a third are other news (city politics, courts, health,
culture); the rest are about sport, technology, climate, companies or countries, naming the
subjects the generated topics follow. Summaries are the lede of the content (as many feeds
send them), a separate paragraph, or absent; most articles have typographic quotes,
apostrophes and dashes, as outlets publish them.

Against what: the default topics of ``config/topics.yaml`` (read with ``load_config``) plus
``--user-topics`` generated topics (50 by default) about sport, technology, climate, companies
and countries, written the way users write them: OR lists of 5 to 15 aliases in several
languages, quoted phrases, ``word*`` prefixes, ``NEAR/N``, ``title:``, a few ``^weights``,
``=ACRONYM`` terms and ``exclude`` queries, thresholds from 0.3 to 0.6.

What is measured, in this one process (tagging is single-threaded; ``--cpu`` pins it to one
CPU), ``--runs`` times (5 by default), the median reported with the range over the runs:

* ``Document.build``: analysing the articles (normalisation, tokens), each document dropped
  once built;
* ``Tagger.match``: matching prebuilt documents (the terms each word satisfies, candidate
  topics, presence checks, query evaluation, scores, evidence, snippets);
* end to end: both, as ``tagging.apply.tag_stored`` does per article.

The stages are interleaved run by run. Each match run gets freshly built documents (a
document caches some of the matcher's work, such as token offsets for snippets), kept out of
the garbage collector's scans (``gc.freeze``): 2,000 documents are about 400,000 live
containers, and with them alive full collections cost about as much as building them, while
the tagging pass drops each document after matching it.

Times are CPU time of the process (``time.process_time``), so other work on the machine
slows the figures less (it still does: caches and memory are shared); the wall-clock medians
are printed next to them. A first end-to-end pass runs with empty stemmer caches and is
reported on its own line; the timed runs come after it, with the vocabulary cached, as in a
long-running monitor.

It then prints the matches per article (default and generated topics), how many topics share
a term with an article and for how many the query holds, a breakdown by language, and one
end-to-end pass under cProfile: the ``--top`` functions of newswatch by cumulative time and
the functions (anywhere) with the most time of their own. ``--ablate-snippets`` adds, in each
run, an end-to-end pass with the matcher's ``snippet`` function stubbed out, to show what
snippets cost. ``--show`` prints a few generated topics and two articles. To measure another
version of newswatch, put its ``src`` first on the path: ``PYTHONPATH=/path/to/src``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import os
import platform
import pstats
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("newswatch") is None:
    sys.path.insert(0, str(ROOT / "src"))

from newswatch.config import load_config  # noqa: E402
from newswatch.tagging.document import Document, stemmer_for  # noqa: E402
from newswatch.tagging.matcher import Match, Tagger, TopicRule  # noqa: E402
from newswatch.tagging.query import parse_query, terms_of  # noqa: E402
from newswatch.text import tokens  # noqa: E402

TARGET_PER_SECOND = 5_000
STAGES = ("Document.build", "Tagger.match (prebuilt documents)", "end to end (build + match)")
DEFAULT_CONFIG = ROOT / "config" / "newswatch.yaml"
T = TypeVar("T")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _lines(block: str) -> tuple[str, ...]:
    """One entry per non-empty line of a text block."""
    return tuple(line.strip() for line in block.strip().splitlines() if line.strip())


def _tagged(block: str) -> dict[str, tuple[str, ...]]:
    """Lines written ``key: text``, grouped by key."""
    groups: defaultdict[str, list[str]] = defaultdict(list)
    for line in _lines(block):
        key, text = line.split(": ", 1)
        groups[key].append(text)
    return {key: tuple(texts) for key, texts in groups.items()}


# --------------------------------------------------------------------------------------------
# Subjects: what the generated topics are about and what the articles mention
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Something users follow: its names (any language), words by language, context words."""

    slug: str
    theme: str
    names: tuple[str, ...] = ()
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    context: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def terms(self) -> list[str]:
        """Every spelling a topic query may list, names first."""
        seen = dict.fromkeys(self.names)
        for words in self.words.values():
            seen.update(dict.fromkeys(words))
        return list(seen)

    def mentions(self, language: str) -> tuple[str, ...]:
        """The spellings an article in this language uses."""
        local = self.words.get(language) or ()
        if not local and not self.names:
            local = self.words.get("en", ())
        return self.names + local


def _s(
    slug: str, theme: str, names: str = "", context: str = "", exclude: str = "", **words: str
) -> Subject:
    """A subject from '|'-separated lists (keeps the tables below readable)."""

    def split(text: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in text.split("|") if part.strip())

    return Subject(
        slug=slug,
        theme=theme,
        names=split(names),
        words={language: split(text) for language, text in words.items()},
        context=split(context),
        exclude=split(exclude),
    )


SUBJECTS: tuple[Subject, ...] = (
    # -- sport ---------------------------------------------------------------------------
    _s(
        "champions-league",
        "sport",
        "Champions League|UEFA|Real Madrid|Barcelona|Bayern Munich|Manchester City|Arsenal"
        "|Liverpool|Inter Milan|Paris Saint-Germain|PSG|Borussia Dortmund",
        "match|goal|striker|stadium|quarter-final|coach|penalty",
        "fantasy football|video game",
        de="Champions-League|Bayern München",
        fr="Ligue des champions",
        ru="Лига чемпионов|Лиги чемпионов",
        uk="Ліга чемпіонів|Ліги чемпіонів",
        pl="Liga Mistrzów|Ligi Mistrzów",
    ),
    _s(
        "tennis",
        "sport",
        "Wimbledon|Roland Garros|Australian Open|US Open|Jannik Sinner|Carlos Alcaraz"
        "|Novak Djokovic|Iga Świątek|Aryna Sabalenka|ATP|WTA",
        "set|seed|final|serve|match point",
        "golf",
        en="Grand Slam|tiebreak",
        pl="Świątek",
    ),
    _s(
        "formula-one",
        "sport",
        "Formula One|Grand Prix|Max Verstappen|Lewis Hamilton|Lando Norris|Charles Leclerc"
        "|Ferrari|McLaren|Red Bull Racing|FIA",
        "race|lap|circuit|qualifying|podium",
        "Ferrari dealership",
        en="pole position|pit stop",
        de="Formel 1|Großer Preis",
        ru="Формула-1",
        uk="Формула-1",
        pl="Formuła 1",
    ),
    _s(
        "olympics",
        "sport",
        "Olympics|Olympic Games|Milan Cortina|LA28|IOC|Paralympics",
        "medal|athlete|gold|qualification|torch",
        "maths olympiad|chemistry olympiad",
        de="Olympische Spiele|Olympia",
        fr="Jeux olympiques",
        ru="Олимпийские игры|Олимпиада",
        uk="Олімпійські ігри|Олімпіада",
        pl="igrzyska olimpijskie|olimpiada",
    ),
    _s(
        "cycling",
        "sport",
        "Tour de France|Giro d'Italia|Vuelta|Tadej Pogačar|Jonas Vingegaard|Remco Evenepoel|UCI",
        "stage|climb|sprint|team",
        en="peloton|yellow jersey|time trial",
        fr="maillot jaune",
        de="Gelbes Trikot",
    ),
    _s(
        "nba",
        "sport",
        "NBA|Lakers|Celtics|Golden State Warriors|LeBron James|Victor Wembanyama|Nikola Jokić"
        "|Luka Dončić",
        "points|rebounds|season|playoff|coach",
        "NBA 2K",
        en="playoffs|Finals MVP|three-pointer",
    ),
    # -- technology ----------------------------------------------------------------------
    _s(
        "ai",
        "tech",
        "OpenAI|ChatGPT|Anthropic|Claude|Gemini|Mistral AI|DeepSeek|Copilot",
        "regulation|compute|training|data centre|AI Act|safety",
        "Gemini constellation|horoscope",
        en="artificial intelligence|generative AI|large language models|chatbots"
        "|machine learning|AI models",
        de="künstliche Intelligenz|KI-Modelle|Chatbots",
        fr="intelligence artificielle|IA générative",
        ru="искусственный интеллект|нейросети",
        uk="штучний інтелект|нейромережі",
        pl="sztuczna inteligencja|sztucznej inteligencji",
    ),
    _s(
        "chips",
        "tech",
        "TSMC|ASML|Nvidia|Intel|Samsung Electronics|SK Hynix|GlobalFoundries|Infineon",
        "fab|subsidy|Chips Act|supply chain|export",
        "potato chips|poker chips",
        en="semiconductors|chipmakers|foundry|lithography machines|export controls|wafers",
        de="Halbleiter|Chipfabrik|Chiphersteller",
        fr="semi-conducteurs",
        ru="полупроводники|микрочипы",
        uk="напівпровідники|мікрочипи",
        pl="półprzewodniki|półprzewodników",
    ),
    _s(
        "cybersecurity",
        "tech",
        "CrowdStrike|Microsoft Defender|Mandiant|ENISA|CISA",
        "vulnerability|patch|attack|systems|outage",
        "hackathon",
        en="cyberattack|ransomware|hackers|data breach|phishing|zero-day|malware|DDoS",
        de="Cyberangriff|Hackerangriff|Datenleck",
        fr="cyberattaque|rançongiciel",
        ru="кибератака|хакеры",
        uk="кібератака|хакери",
        pl="cyberatak|hakerzy",
    ),
    _s(
        "smartphones",
        "tech",
        "iPhone|Galaxy S25|Pixel 10|Xiaomi|Huawei|Android|iOS|Qualcomm",
        "sales|camera|battery|launch|market share",
        "phone scam",
        en="smartphones|handsets|foldable phones",
        de="Smartphones|Handys",
        fr="smartphones|téléphones pliables",
        ru="смартфоны",
        uk="смартфони",
        pl="smartfony",
    ),
    _s(
        "space",
        "tech",
        "SpaceX|Starship|NASA|ESA|Artemis|Blue Origin|Starlink|Ariane 6",
        "launch|mission|crew|orbit|booster",
        "Space Jam|office space",
        en="rocket launch|satellites|orbit|space station",
        de="Raumfahrt|Satelliten|Rakete",
        fr="fusée|satellites",
        ru="ракета|спутники",
        uk="ракета|супутники",
        pl="rakieta|satelity",
    ),
    _s(
        "electric-cars",
        "tech",
        "BYD|Tesla|Rivian|Polestar|Lucid",
        "tariffs|subsidies|sales|range|battery",
        "electric scooters",
        en="electric vehicles|electric cars|EVs|charging stations|battery plant|gigafactory",
        de="Elektroautos|E-Autos|Ladesäulen",
        fr="voitures électriques|bornes de recharge",
        ru="электромобили",
        uk="електромобілі",
        pl="samochody elektryczne|elektryki",
    ),
    # -- climate -------------------------------------------------------------------------
    _s(
        "heatwave",
        "climate",
        "",
        "temperature|drought|health|warning|Celsius",
        "Miami Heat",
        en="heatwave|heat wave|heat dome|record temperatures|hottest day",
        de="Hitzewelle|Hitzerekord",
        fr="canicule|vague de chaleur",
        ru="жара|аномальная жара",
        uk="спека|аномальна спека",
        pl="upał|fala upałów",
    ),
    _s(
        "floods",
        "climate",
        "",
        "evacuated|rescue|river|damage|rainfall",
        "flood of applications",
        en="floods|flooding|flash floods|torrential rain|storm surge|levees",
        de="Hochwasser|Überschwemmungen|Starkregen",
        fr="inondations|crue",
        ru="наводнение|паводок",
        uk="повінь|паводок",
        pl="powódź|powodzie|ulewy",
    ),
    _s(
        "climate-policy",
        "climate",
        "COP30|COP31|UNFCCC|Paris Agreement|CBAM|IPCC",
        "emissions|pledge|negotiators|fossil fuels|targets",
        en="climate summit|net zero|emissions targets|carbon tax|carbon border levy"
        "|climate finance",
        de="Klimaschutz|Klimagipfel|Klimaziele|CO2-Preis",
        fr="neutralité carbone|sommet climatique",
        ru="климатический саммит|выбросы",
        uk="кліматичний саміт|викиди",
        pl="szczyt klimatyczny|neutralność klimatyczna",
    ),
    _s(
        "wildfires",
        "climate",
        "",
        "evacuation|hectares|blaze|wind|drought",
        "fire sale|friendly fire",
        en="wildfires|wildfire|forest fires|bushfires|firefighters",
        de="Waldbrand|Waldbrände",
        fr="incendies|feux de forêt",
        ru="лесные пожары|пожар",
        uk="лісові пожежі|пожежа",
        pl="pożary lasów|pożar",
    ),
    _s(
        "renewables",
        "climate",
        "Energiewende|Ørsted|Vestas|Iberdrola",
        "grid|capacity|auction|gigawatts|investment",
        en="solar power|solar farms|wind farms|offshore wind|renewables|heat pumps|battery storage",
        de="Windkraft|Solarenergie|Wärmepumpen|erneuerbare Energien",
        fr="énergies renouvelables|éoliennes|panneaux solaires",
        ru="возобновляемая энергетика|солнечные электростанции",
        uk="відновлювана енергетика|сонячні електростанції",
        pl="odnawialne źródła energii|farmy wiatrowe|OZE",
    ),
    _s(
        "arctic",
        "climate",
        "Greenland|Svalbard|Antarctica",
        "melting|record low|scientists|warming",
        "Trump|annexation",
        en="glaciers|sea ice|ice sheet|permafrost|sea level rise",
        de="Gletscher|Meereis|Permafrost",
        fr="glaciers|banquise",
        ru="ледники|вечная мерзлота",
        uk="льодовики|вічна мерзлота",
        pl="lodowce|wieczna zmarzlina",
    ),
    # -- companies -----------------------------------------------------------------------
    _s(
        "nvidia",
        "companies",
        "Nvidia|Jensen Huang|GeForce|CUDA|Blackwell|H100|H200|NVDA",
        "shares|earnings|data centre|chips|guidance",
    ),
    _s(
        "siemens",
        "companies",
        "Siemens|Siemens Energy|Siemens Healthineers|Roland Busch|Siemens Mobility",
        "orders|trains|turbines|quarter|guidance",
    ),
    _s(
        "volkswagen",
        "companies",
        "Volkswagen|VW|Porsche|Audi|Škoda|Wolfsburg|Oliver Blume|Cupra",
        "plant|jobs|union|sales|recall",
        "Porsche 911 review",
        de="VW-Konzern|Volkswagen-Werk",
    ),
    _s(
        "tesla",
        "companies",
        "Tesla|Elon Musk|Model Y|Model 3|Cybertruck|Giga Berlin|Robotaxi",
        "deliveries|shares|autopilot|factory|sales",
        "Nikola Tesla",
    ),
    _s(
        "oil-majors",
        "companies",
        "Shell|BP|TotalEnergies|ExxonMobil|Chevron|Equinor|Saudi Aramco|OPEC",
        "barrel|refinery|dividend|output|profits",
        "seashell|shell company",
        en="oil majors|crude prices|Brent crude",
        de="Ölkonzern|Ölpreis",
        fr="prix du pétrole",
        ru="нефть|ОПЕК",
        uk="нафта",
        pl="ropa naftowa",
    ),
    _s(
        "aviation",
        "companies",
        "Airbus|Boeing|737 MAX|A320neo|A350|Dreamliner|Spirit AeroSystems|Embraer",
        "deliveries|FAA|orders|airlines|engines",
        "paper planes",
        en="jetliners|aircraft orders|air safety",
        de="Flugzeugbauer",
        fr="avionneur",
        ru="авиастроитель",
        uk="авіабудівник",
        pl="producent samolotów",
    ),
    _s(
        "shipping",
        "companies",
        "Maersk|MSC|Hapag-Lloyd|CMA CGM|Suez Canal|Red Sea|Houthis",
        "ports|cargo|vessels|route|rates",
        en="container ships|freight rates|shipping lines|container shipping",
        de="Containerschiffe|Frachtraten|Reederei",
        fr="porte-conteneurs|fret maritime",
        ru="контейнеровозы",
        uk="контейнеровози",
        pl="kontenerowce",
    ),
    _s(
        "apple",
        "companies",
        "Apple|Tim Cook|iPhone|App Store|Vision Pro|Cupertino|Apple Intelligence",
        "shares|antitrust|App Store fees|sales|China",
        "apple pie|apple harvest|orchard",
    ),
    _s(
        "weight-loss-drugs",
        "companies",
        "Novo Nordisk|Ozempic|Wegovy|semaglutide|Eli Lilly|Mounjaro|Zepbound|tirzepatide|GLP-1",
        "prices|trial|supply|patients|shares",
        en="weight-loss drugs|obesity drugs",
        de="Abnehmspritze",
        fr="médicaments contre l'obésité",
    ),
    _s(
        "banks",
        "companies",
        "Deutsche Bank|Commerzbank|UniCredit|HSBC|BNP Paribas|JPMorgan|Goldman Sachs|UBS",
        "stake|shareholders|ECB|profit|capital",
        "river bank|food bank",
        en="takeover bid|bank merger",
        de="Übernahmeangebot|Bankenfusion",
        fr="offre publique d'achat",
    ),
    # -- countries -----------------------------------------------------------------------
    _s(
        "taiwan",
        "countries",
        "Taiwan|Taipei|Lai Ching-te|Taiwan Strait|Kuomintang|KMT",
        "Beijing|military drills|chips|election|strait",
        ru="Тайвань|Тайваня",
        uk="Тайвань|Тайваню",
        pl="Tajwan|Tajwanu",
        fr="Taïwan",
    ),
    _s(
        "brazil",
        "countries",
        "Brazil|Lula|Brasília|Bolsonaro|São Paulo|Rio de Janeiro",
        "Amazon|election|economy|Congress",
        "Brazil nuts",
        en="Brazilian",
        de="Brasilien",
        fr="Brésil",
        ru="Бразилия|Бразилии",
        uk="Бразилія|Бразилії",
        pl="Brazylia|Brazylii",
    ),
    _s(
        "india",
        "countries",
        "India|New Delhi|Narendra Modi|Mumbai|BJP|Rahul Gandhi",
        "economy|election|tariffs|Pakistan|monsoon",
        "West Indies|Indiana",
        en="Indian",
        de="Indien|indische",
        fr="Inde|indien",
        ru="Индия|Индии",
        uk="Індія|Індії",
        pl="Indie|Indii",
    ),
    _s(
        "poland",
        "countries",
        "Poland|Warsaw|Donald Tusk|Karol Nawrocki|Sejm|PiS",
        "government|president|veto|election|border",
        "nail polish",
        en="Polish",
        de="Polen|Warschau",
        fr="Pologne|Varsovie",
        ru="Польша|Польши|Варшава",
        uk="Польща|Польщі|Варшава",
        pl="Polska|Polski|Warszawa|Warszawie",
    ),
    _s(
        "moldova",
        "countries",
        "Moldova|Chișinău|Maia Sandu|Transnistria|Gagauzia",
        "EU accession|election|gas|Russia",
        en="Moldovan",
        de="Moldau|Republik Moldau",
        fr="Moldavie",
        ru="Молдавия|Молдова|Приднестровье",
        uk="Молдова|Молдови|Придністров'я",
        pl="Mołdawia|Mołdawii",
    ),
    _s(
        "georgia",
        "countries",
        "Tbilisi|Georgian Dream|Irakli Kobakhidze|Bidzina Ivanishvili|Salome Zourabichvili",
        "protests|election|EU|parliament|opposition",
        "Atlanta|Georgia Tech|Bulldogs|Savannah",
        en="Georgia|Georgian",
        de="Georgien",
        fr="Géorgie",
        ru="Грузия|Грузии",
        uk="Грузія|Грузії",
        pl="Gruzja|Gruzji",
    ),
    _s(
        "turkey",
        "countries",
        "Türkiye|Erdoğan|Ankara|Istanbul|Ekrem İmamoğlu|CHP",
        "lira|inflation|opposition|Bosphorus",
        "Thanksgiving|roast turkey",
        en="Turkey|Turkish",
        de="Türkei",
        fr="Turquie",
        ru="Турция|Турции",
        uk="Туреччина|Туреччини",
        pl="Turcja|Turcji",
    ),
    _s(
        "hungary",
        "countries",
        "Hungary|Viktor Orbán|Budapest|Fidesz|Péter Magyar|Tisza party",
        "election|veto|EU funds|opposition|polls",
        en="Hungarian",
        de="Ungarn",
        fr="Hongrie",
        ru="Венгрия|Венгрии",
        uk="Угорщина|Угорщини",
        pl="Węgry|Węgier",
    ),
    _s(
        "japan",
        "countries",
        "Japan|Tokyo|Bank of Japan|Nikkei|Sanae Takaichi|Osaka",
        "yen|rates|exports|election|tariffs",
        en="Japanese|yen",
        de="japanische",
        fr="Japon|japonais",
        ru="Япония|Японии",
        uk="Японія|Японії",
        pl="Japonia|Japonii",
    ),
)

SUBJECT_THEMES = ("sport", "tech", "climate", "companies", "countries")
BY_THEME: dict[str, list[Subject]] = defaultdict(list)
for _subject in SUBJECTS:
    BY_THEME[_subject.theme].append(_subject)


# --------------------------------------------------------------------------------------------
# Generated user topics
# --------------------------------------------------------------------------------------------


def _alias(term: str, rng: random.Random, *, exact_case: bool) -> str:
    """One spelling as a query term: a phrase, a prefix, an =ACRONYM or the word itself."""
    words = term.split()
    if len(words) > 1:
        last = words[-1]
        if last.isalpha() and len(last) >= 6 and rng.random() < 0.25:
            words[-1] = last[: len(last) - rng.randint(1, 2)] + "*"
        return '"' + " ".join(words) + '"'
    if exact_case and term.isupper() and term.isalpha() and len(term) <= 5:
        return "=" + term
    if term.isalpha() and len(term) >= 7 and rng.random() < 0.35:
        return term[: max(5, len(term) - rng.randint(1, 3))] + "*"
    return term


def _or(parts: Sequence[str]) -> str:
    return "(" + " OR ".join(parts) + ")"


def _aliases(subject: Subject, rng: random.Random, count: int, *, exact_case: bool) -> list[str]:
    terms = subject.terms()
    first, rest = terms[0], terms[1:]
    chosen = [first, *rng.sample(rest, min(len(rest), count - 1))]
    return [_alias(term, rng, exact_case=exact_case) for term in chosen]


def make_user_topic(index: int, subject: Subject, rng: random.Random) -> TopicRule:
    """A topic about one subject, in one of the shapes users write."""
    exact_case = rng.random() < 0.08
    aliases = _aliases(subject, rng, rng.randint(5, 15), exact_case=exact_case)
    context = [_alias(word, rng, exact_case=False) for word in subject.context]
    rng.shuffle(context)
    shape = rng.choices(
        ("aliases", "context", "title-near", "near", "weighted", "pair"),
        weights=(30, 20, 15, 15, 10, 10),
    )[0]
    if shape == "aliases":
        if rng.random() < 0.3:
            aliases[-1] += "^0.5"
        query = _or(aliases)
    elif shape == "context":
        weight = rng.choice(("^0.3", "^0", ""))
        query = f"{_or(aliases)} AND {_or(context[: rng.randint(2, 4)])}{weight}"
    elif shape == "title-near":
        head, tail = aliases[:3], aliases[3:] or aliases
        distance = rng.randint(3, 12)
        query = f"title:{_or(head)} OR ({_or(tail)} NEAR/{distance} {_or(context[:4])})"
    elif shape == "near":
        distance = rng.randint(3, 12)
        query = f"{_or(aliases)} NEAR/{distance} {_or(context[: rng.randint(2, 5)])}"
    elif shape == "weighted":
        query = f"{_or(aliases[:3])}^2 OR {_or(aliases[3:] or aliases)}^0.5"
    else:
        other_theme = rng.choice([t for t in SUBJECT_THEMES if t != subject.theme])
        other = rng.choice(BY_THEME[other_theme])
        others = _aliases(other, rng, rng.randint(3, 6), exact_case=False)
        query = f"{_or(aliases)} AND {_or(others)}"
    exclude = None
    if subject.exclude and rng.random() < 0.4:
        exclude = " OR ".join(
            _alias(word, rng, exact_case=False) + rng.choice(("", "^0.5"))
            for word in subject.exclude
        )
    threshold = rng.choice((0.3, 0.4, 0.5, 0.5, 0.6))
    return TopicRule(f"user-{index:02d}-{subject.slug}", query, threshold, exclude)


def make_user_topics(count: int, seed: int) -> list[TopicRule]:
    """``count`` topics over the subjects, shuffled, each subject used about as often."""
    rng = random.Random(f"topics-{seed}")
    order = list(SUBJECTS)
    rng.shuffle(order)
    return [make_user_topic(i, order[i % len(order)], rng) for i in range(count)]


def load_default_rules(config_path: Path) -> list[TopicRule]:
    """The topics the shipped configuration names, as the tagger gets them."""
    config = load_config(config_path, environ={})
    return [TopicRule(t.slug, t.query, t.threshold, t.exclude) for t in config.topics]


# --------------------------------------------------------------------------------------------
# Article text, by language
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Language:
    """What an article in one language is made of.

    Sentences are templates with slots: {A} and {B} a subject's name or word, {K} a context
    word, {P} a person, {C} a city (in the case the language needs after "in"), {D} a day,
    {N} a whole number, {F} a decimal, {S} a score, {Y} a year.
    """

    code: str
    days: tuple[str, ...]
    cities: tuple[str, ...]
    first_names: tuple[str, ...]
    syllables: tuple[str, ...]
    nouns: tuple[str, ...]  # {K} outside English
    decimal: str
    ukraine: dict[str, tuple[str, ...]]  # diplomacy, by sub-topic: what default topics cover
    war: tuple[str, ...]  # the war without the diplomacy
    generic: tuple[str, ...]  # any subject
    filler: tuple[str, ...]  # news boilerplate, no subject
    themes: dict[str, tuple[str, ...]]
    titles: tuple[str, ...]
    ukraine_titles: dict[str, tuple[str, ...]]
    war_titles: tuple[str, ...]
    other_titles: tuple[str, ...]


EN = Language(
    code="en",
    days=_words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday"),
    cities=(
        "Brussels",
        "Geneva",
        "Paris",
        "London",
        "Washington",
        "Berlin",
        "Warsaw",
        "Istanbul",
        "Riyadh",
        "Miami",
        "Tokyo",
        "Madrid",
        "Rome",
        "Vienna",
        "Helsinki",
    ),
    first_names=_words(
        "Anna Marta Thomas Elena David Sofia Jan Laura Peter Olga Mark Ines Paul Nina Lukas Claire"
        " Tomasz Julia Martin Ewa"
    ),
    syllables=_words("ber ko lin man ska ven dor ri sen tal mo va ne stein ova chuk ley ran"),
    nouns=(),
    decimal=".",
    ukraine=_tagged("""
        guarantees: European leaders discussed security guarantees for Ukraine in {C} on {D}.
        guarantees: {P} said the coalition of the willing would deploy troops once a truce holds.
        guarantees: Kyiv insists that any deal must include guarantees modelled on Article 5.
        guarantees: Germany is weighing sending troops to Ukraine as part of a reassurance force.
        guarantees: Officials in Kyiv said parliament would ratify the security package first.
        guarantees: The security guarantees would be approved by Congress, according to {P}.
        guarantees: Britain and France said a multinational force could be stationed in Ukraine.
        guarantees: Putin said Russia would not accept European peacekeepers on Ukrainian soil.
        guarantees: A ceasefire monitoring mechanism led by the United States is one option.
        territory: Moscow demands that Ukraine withdraw its forces from the rest of Donetsk.
        territory: Officials floated a demilitarised zone or a free economic zone in the Donbas.
        territory: A referendum would be needed before Kyiv could cede any territory, {P} said.
        territory: Ukrainian diplomats said the line of contact could be frozen under a truce.
        territory: The talks in Geneva ended without agreement on the territorial question.
        assets: The EU is still divided over a reparations loan backed by frozen Russian assets.
        assets: Belgium fears legal risks if the assets held at Euroclear are used for Ukraine.
        assets: Russia's central bank reserves, worth about {N} billion euros, remain immobilised.
        assets: The commission proposed a 90 billion euro loan to cover Ukraine's budget needs.
        assets: The Euroclear depository in Brussels holds most of the immobilised funds.
        talks: The 20-point peace plan was discussed with Zelensky's team in {C} on {D}.
        talks: Negotiators from Russia and Ukraine met for trilateral talks in Abu Dhabi on {D}.
        talks: Dmitriev met Witkoff in Miami to discuss the American peace proposal for Ukraine.
        talks: Kushner and Witkoff are expected in Moscow on {D} to present the revised plan.
        talks: European diplomats said the negotiations had reached a critical stage.
        talks: Kyiv wants a clear commitment before it signs any ceasefire, {P} said.
        nato: Zelensky said Ukraine's NATO membership bid remained on the table.
        nato: The Kremlin repeated that Ukraine must renounce its ambition to join NATO.
        nato: Kyiv says its path to NATO accession is irreversible, whatever Moscow demands.
        us: Trump told reporters at the White House that a minerals deal with Ukraine was close.
        us: The US agreed to sell more Patriot air defence systems to Ukraine, {P} said.
        us: Washington paused some weapons deliveries to Ukraine last month, officials said.
        us: Zelensky is expected at the White House on {D} for talks on military aid.
        general: Ukraine's foreign minister said Kyiv would never accept a frozen conflict.
        general: Diplomats in {C} said the coming weeks would decide the course of the war.
    """),
    war=_lines("""
        Russian drones struck energy infrastructure in Kharkiv overnight, the governor said.
        Ukrainian forces reported heavy fighting near Pokrovsk and Huliaipole.
        Air raid alerts sounded across Ukraine for several hours on {D}.
        Power cuts hit several districts of Kyiv after the latest missile attack.
        The general staff said {N} clashes were recorded along the front line in a day.
        Emergency crews worked through the night to restore heating in Zaporizhzhia.
        A drone attack on Odesa damaged port facilities and a residential building.
        Ukraine's military said it had shot down {N} of the drones launched overnight.
        Residents of Kherson were urged to stay in shelters as shelling continued.
        The mobilisation law remains controversial in Ukraine, {P} said.
    """),
    generic=_lines("""
        {A} was again at the centre of attention in {C} on {D}.
        Interest in {A} has grown sharply over the past {N} months, according to {P}.
        {P} told reporters that the debate over {A} was far from settled.
        The latest figures on {K} suggest that {A} will stay in the headlines for some time.
        Critics say the focus on {A} distracts from questions about {K}.
        A spokesperson for {A} declined to comment on the reports.
        People familiar with {A} said a decision on {K} could come as early as {D}.
        In {C}, the news about {A} and {B} dominated the front pages.
        {A} and {B} are expected to feature prominently at next week's meeting in {C}.
        Observers compared the situation with {B}, which faced questions about {K} last year.
        {P}, an analyst in {C}, said {A} had surprised many with its {K} record.
        The story of {A} is, in many ways, a story about {K}.
        Reporting on {A} on {D} focused mostly on {K}.
        About {N} percent of respondents in a recent poll said they followed news about {A}.
        Asked about {K}, {P} said: "We will see what happens with {A}."
        {A} has become a symbol of a wider debate about {K}.
        The row over {A} is unlikely to be resolved before {Y}, analysts said.
    """),
    filler=_lines("""
        The ministry did not respond to a request for comment.
        Officials said more details would be released in the coming days.
        The decision was criticised by opposition lawmakers, who called it rushed.
        Markets in {C} closed slightly higher on {D}.
        The report, published on {D}, runs to more than {N} pages.
        It was not immediately clear how the plan would be financed.
        {P} said the government would not change course.
        Several newspapers reported the news before it was officially confirmed.
        The agency said it was monitoring the situation closely.
        Turnout was lower than in previous years, organisers said.
        Local residents told reporters they had not been consulted.
        The figures were revised down from an earlier estimate of {F} percent.
        This article was updated on {D} with additional reporting from {C}.
        Inflation in the euro area eased to {F} percent last month.
        The central bank is expected to keep interest rates unchanged at its next meeting.
        Analysts said the numbers were in line with expectations.
        A court in {C} is due to rule on the case later this month.
        The city council approved the budget by a narrow margin on {D}.
        Police said {N} people were detained after the protest in {C}.
        Weather forecasters warned of strong winds and heavy rain over the weekend.
        Ticket prices for public transport will rise by {N} percent next year.
        The union said its members would strike on {D} unless talks resume.
        Tourism numbers in {C} have recovered to their pre-pandemic levels.
        The festival attracted more than {N} thousand visitors.
        Lawmakers are expected to vote on the proposal before the summer recess.
        The opposition has called for an independent inquiry.
        Government bond yields rose after the data were published.
        The company said it would appeal against the ruling.
    """),
    themes={
        "sport": _lines("""
            {A} came back from a goal down to win {S} in front of a sold-out crowd.
            The coach praised the team's defence after the {S} result.
            Injuries have left {A} without several key players for the match on {D}.
            {P} scored twice in the second half as {A} moved up the table.
            Ticket sales for the final in {C} opened on {D}.
            The victory keeps {A} in contention for the title with {N} games left.
        """),
        "tech": _lines("""
            {A} unveiled a new generation of chips aimed at data centres.
            Regulators in {C} are examining whether {A} complied with data protection rules.
            The update will roll out to users over the next {N} weeks, {A} said.
            Demand for computing power has pushed {A} to expand its investment plans.
            Security researchers said the flaw affected millions of devices.
            {P}, a software engineer in {C}, said the tools were improving quickly.
        """),
        "climate": _lines("""
            Temperatures reached {N} degrees Celsius in parts of the region on {D}.
            Scientists linked the extreme weather to {A} and warned of more to come.
            Emergency services evacuated hundreds of residents as the {A} spread.
            The report said global emissions must fall by {N} percent by 2035.
            Farmers in the region said {K} had already damaged this year's harvest.
            {P}, a climate scientist in {C}, said the data on {A} were alarming.
        """),
        "companies": _lines("""
            Shares of {A} fell {N} percent after the company cut its full-year forecast.
            {A} reported quarterly revenue of {N} billion dollars, above estimates.
            The chief executive of {A} told investors that {K} remained the priority.
            {A} plans to cut {N} hundred jobs as part of a restructuring programme.
            Unions criticised {A} for its plans to move production to {C}.
            {A} and {B} are in talks about a possible partnership, {P} said.
        """),
        "countries": _lines("""
            The government of {A} announced new measures to support households.
            Elections in {A} are due next year, and polls show a close race.
            The foreign minister of {A} is expected in {C} on {D} for talks.
            Protesters gathered outside parliament in the capital of {A} on {D}.
            Relations between {A} and {B} have improved since the last summit.
            The economy of {A} grew by {F} percent in the last quarter, official data showed.
        """),
        "other": _lines("""
            The exhibition brings together more than {N} works from private collections.
            The new metro line in {C} is due to open in {Y}.
            Housing costs in {C} have risen faster than wages for years.
            The school reform will take effect at the start of the next academic year.
            Hospitals in the region reported a rise in flu cases this week.
            The orchestra will tour {N} cities next spring, its director said.
            The mayor of {C} promised to build {N} thousand affordable homes by {Y}.
            A jury found the former official guilty of fraud on {D}.
            Doctors warned that waiting lists for routine operations were getting longer.
            The bridge will be closed to traffic for {N} weeks while repairs are carried out.
            Teachers in {C} protested against plans to merge several primary schools.
            The film, shot in {C}, won the audience award at the festival.
            Researchers found that the new treatment cut hospital stays by {N} percent.
            The prime minister reshuffled the cabinet on {D}, replacing {N} ministers.
        """),
    },
    titles=_lines("""
        {A}: what we know so far
        {A} in focus as {B} faces questions
        Why {A} matters for {C}
        {A} under pressure after a turbulent week
        {P} on {A}: 'We will see'
        {A} moves ahead despite doubts
        Live: {A} latest updates
        Analysis: the real stakes of {A}
    """),
    ukraine_titles=_tagged("""
        guarantees: Europe weighs security guarantees as Ukraine talks resume
        guarantees: Zelensky: no peace deal without Article 5-style guarantees
        guarantees: Kremlin rejects European troops in Ukraine
        assets: EU split over reparations loan from frozen Russian assets
        talks: Witkoff and Kushner meet Russian envoy over peace plan
        territory: Donbas question stalls ceasefire talks in {C}
        nato: Ukraine's NATO bid: Kyiv holds firm
        us: Trump says minerals deal with Ukraine is close
        general: What the next weeks mean for Ukraine
    """),
    war_titles=_lines("""
        Russian drones hit Kharkiv power grid overnight
        Fighting intensifies near Pokrovsk
        Kyiv faces power cuts after missile attack
        Ukraine reports {N} clashes along front line
    """),
    other_titles=_lines("""
        City council approves budget after long debate
        Museum in {C} reopens after renovation
        Public transport fares to rise by {N} percent
        Storm warning issued for the weekend
    """),
)

DE = Language(
    code="de",
    days=("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    cities=("Brüssel", "Genf", "Paris", "Berlin", "München", "Wien", "Hamburg", "Warschau"),
    first_names=("Anna", "Thomas", "Katrin", "Jonas", "Sabine", "Lukas", "Miriam", "Felix"),
    syllables=_words("berg mann hof lin ger ke schu wal tner rich bau ler"),
    nouns=("Kosten", "Sicherheit", "Regeln", "Wettbewerb", "Zukunft", "Finanzierung"),
    decimal=",",
    ukraine=_tagged("""
        guarantees: Die Koalition der Willigen berät in {C} über Sicherheitsgarantien für Kiew.
        guarantees: Selenskyj sagte, ohne Sicherheitszusagen gebe es keinen Waffenstillstand.
        guarantees: Merz schloss nicht aus, dass nach einer Waffenruhe Soldaten entsandt werden.
        assets: Die EU streitet über ein Reparationsdarlehen aus eingefrorenem russischem Vermögen.
        territory: Moskau fordert den Rückzug der ukrainischen Truppen aus dem Donbas.
        territory: Eine entmilitarisierte Zone im Gebiet Donezk wird als Kompromiss diskutiert.
        territory: Kiew lehnt jede Gebietsabtretung ab, sagte {P} am {D}.
        talks: Die Verhandlungen über einen Friedensplan für die Ukraine gehen am {D} weiter.
        talks: Die Gespräche in Genf endeten ohne Einigung über die Gebietsfragen.
        nato: Ein NATO-Beitritt der Ukraine ist nach Angaben aus Washington nicht realistisch.
    """),
    war=_lines("""
        Russische Drohnen griffen in der Nacht die Energieversorgung in Charkiw an.
        Die Frontlinie im Osten der Ukraine hat sich kaum bewegt.
        In Kiew fiel nach dem jüngsten Raketenangriff in mehreren Bezirken der Strom aus.
        Der ukrainische Generalstab meldete {N} Gefechte an der Front.
    """),
    generic=_lines("""
        {A} stand am {D} in {C} im Mittelpunkt der Debatte.
        Das Interesse an {A} ist in den vergangenen {N} Monaten stark gestiegen, sagte {P}.
        Ein Sprecher von {A} wollte sich zu den Berichten nicht äußern.
        Kritiker werfen {A} vor, die Fragen zu {K} zu ignorieren.
        {A} und {B} sollen beim Treffen in {C} eine wichtige Rolle spielen.
        Nach Angaben von {P} könnte eine Entscheidung über {A} schon am {D} fallen.
        In {C} beherrschten die Nachrichten über {A} die Titelseiten.
        Rund {N} Prozent der Befragten gaben an, die Berichte über {A} zu verfolgen.
    """),
    filler=_lines("""
        Das Ministerium ließ eine Anfrage zunächst unbeantwortet.
        Weitere Einzelheiten sollen in den kommenden Tagen bekannt gegeben werden.
        Die Opposition kritisierte die Entscheidung als überstürzt.
        Die Inflation im Euroraum ging im vergangenen Monat auf {F} Prozent zurück.
        Die Polizei nahm nach der Demonstration in {C} {N} Personen fest.
        Der Wetterdienst warnte für das Wochenende vor Sturm und Starkregen.
        Der Stadtrat verabschiedete den Haushalt am {D} mit knapper Mehrheit.
        Die Gewerkschaft kündigte für {D} einen Warnstreik an.
        Es war zunächst unklar, wie das Vorhaben finanziert werden soll.
        Die Zahlen lagen im Rahmen der Erwartungen der Analysten.
        Die Bundesregierung will den Gesetzentwurf noch vor der Sommerpause beschließen.
    """),
    themes={
        "sport": _lines("""
            {A} gewann am {D} mit {S} und bleibt damit im Rennen um den Titel.
            Der Trainer lobte nach dem {S} die Abwehr seiner Mannschaft.
        """),
        "tech": _lines("""
            {A} stellte in {C} eine neue Generation von Chips für Rechenzentren vor.
            Die Datenschutzbehörde prüft, ob {A} gegen Vorschriften verstoßen hat.
        """),
        "climate": _lines("""
            In Teilen des Landes wurden am {D} {N} Grad gemessen.
            Forscher bringen {A} mit dem Klimawandel in Verbindung.
        """),
        "companies": _lines("""
            Die Aktie von {A} verlor nach der Prognosesenkung {N} Prozent.
            {A} will im Zuge eines Sparprogramms mehrere hundert Stellen streichen.
        """),
        "countries": _lines("""
            Die Regierung in {A} kündigte neue Hilfen für Haushalte an.
            Die Beziehungen zwischen {A} und {B} haben sich zuletzt verbessert.
        """),
        "other": _lines("""
            Das Museum in {C} öffnet nach {N} Monaten Renovierung wieder.
            Die neue U-Bahn-Linie in {C} soll {Y} in Betrieb gehen.
        """),
    },
    titles=_lines("""
        {A}: Was bisher bekannt ist
        {A} unter Druck
        Neue Fragen zu {A} und {B}
    """),
    ukraine_titles=_tagged("""
        guarantees: Koalition der Willigen berät über Sicherheitsgarantien für die Ukraine
        assets: EU ringt um Reparationsdarlehen
        territory: Selenskyj lehnt Gebietsabtretungen im Donbas ab
    """),
    war_titles=("Russische Drohnen greifen Charkiw an",),
    other_titles=("Stadtrat beschließt Haushalt", "Museum in {C} öffnet wieder"),
)

RU = Language(
    code="ru",
    days=(
        "в понедельник",
        "во вторник",
        "в среду",
        "в четверг",
        "в пятницу",
        "в субботу",
        "в воскресенье",
    ),
    cities=("Брюсселе", "Женеве", "Париже", "Берлине", "Стамбуле", "Абу-Даби", "Москве"),
    first_names=("Анна", "Ольга", "Андрей", "Ирина", "Сергей", "Марина", "Олег", "Дмитрий"),
    syllables=_words("ко вал ен ши рен мар ов ски лен ни да ба тов"),
    nouns=("безопасности", "расходов", "правил", "конкуренции", "финансирования"),
    decimal=",",
    ukraine=_tagged("""
        guarantees: Европейские лидеры обсудили в {C} гарантии безопасности для Украины.
        guarantees: Коалиция желающих готова направить войска после прекращения огня.
        talks: Переговоры о мирном плане продолжатся на следующей неделе, заявил Песков.
        talks: Перемирие возможно только после согласования линии соприкосновения.
        territory: Кремль настаивает на выводе украинских войск из Донбасса.
        territory: Обсуждается создание свободной экономической зоны в Донецкой области.
        assets: В ЕС продолжаются споры о замороженных российских активах.
        nato: Зеленский заявил, что Украина не откажется от вступления в НАТО.
    """),
    war=_lines("""
        Российские беспилотники атаковали энергетическую инфраструктуру Харькова.
        По данным Генштаба, за сутки на фронте произошло {N} боестолкновений.
        В нескольких районах Киева после ракетного удара пропал свет.
    """),
    generic=_lines("""
        {A} оказался в центре внимания в {C} {D}.
        Интерес к теме {A} за последние {N} месяцев заметно вырос, отметил {P}.
        Представитель {A} отказался комментировать эти сообщения.
        Критики считают, что вопрос {K} так и остаётся без ответа.
        {A} и {B} станут главными темами встречи в {C}.
        По словам {P}, решение по {A} может быть принято уже {D}.
        Около {N} процентов опрошенных следят за новостями о {A}.
    """),
    filler=_lines("""
        В министерстве не ответили на запрос о комментарии.
        Подробности обещают сообщить в ближайшие дни.
        Оппозиция раскритиковала решение как поспешное.
        Инфляция по итогам месяца замедлилась до {F} процента.
        Синоптики предупредили о сильном ветре и дождях в выходные.
        Городской совет утвердил бюджет {D} с минимальным перевесом.
        Пока неясно, как будет финансироваться этот проект.
        Аналитики отметили, что данные совпали с ожиданиями рынка.
        Полиция задержала {N} человек после акции протеста в {C}.
    """),
    themes={
        "sport": _lines("""
            {A} одержал победу со счётом {S} и сохранил шансы на титул.
            Тренер похвалил игру защиты после матча {D}.
        """),
        "tech": _lines("""
            {A} представил новое поколение чипов для центров обработки данных.
            Регуляторы проверяют, соблюдал ли {A} правила защиты данных.
        """),
        "climate": _lines("""
            {D} в ряде районов температура поднялась до {N} градусов.
            Учёные связывают {A} с изменением климата.
        """),
        "companies": _lines("""
            Акции {A} подешевели на {N} процентов после снижения прогноза.
            {A} сократит несколько сотен рабочих мест.
        """),
        "countries": _lines("""
            Правительство {A} объявило о новых мерах поддержки семей.
            Отношения между {A} и {B} заметно улучшились.
        """),
        "other": _lines("""
            Музей в {C} вновь откроется после {N} месяцев ремонта.
            Новая линия метро откроется в {Y} году.
        """),
    },
    titles=_lines("""
        {A}: что известно на данный момент
        Новые вопросы к {A}
    """),
    ukraine_titles=_tagged("""
        guarantees: Гарантии безопасности для Украины обсудили в Париже
        guarantees: Кремль отверг размещение европейских войск на Украине
        assets: ЕС не договорился о замороженных российских активах
    """),
    war_titles=("Беспилотники атаковали Харьков",),
    other_titles=("Горсовет утвердил бюджет",),
)

UK = Language(
    code="uk",
    days=(
        "у понеділок",
        "у вівторок",
        "у середу",
        "у четвер",
        "у п'ятницю",
        "у суботу",
        "у неділю",
    ),
    cities=("Брюсселі", "Женеві", "Парижі", "Берліні", "Стамбулі", "Варшаві", "Лондоні"),
    first_names=("Олена", "Андрій", "Ірина", "Сергій", "Оксана", "Тарас", "Наталія", "Дмитро"),
    syllables=_words("ко вал ен чук рен мар ів ський лен ни да ба шен"),
    nouns=("безпеки", "витрат", "правил", "конкуренції", "фінансування"),
    decimal=",",
    ukraine=_tagged("""
        guarantees: Європейські лідери обговорили в {C} гарантії безпеки для України.
        guarantees: Коаліція охочих готова розмістити війська після припинення вогню.
        territory: Зеленський заявив, що Україна не погодиться на виведення військ з Донбасу.
        territory: Лінію зіткнення можуть заморозити в разі перемир'я, зазначив {P}.
        territory: Питання територій залишається найскладнішим на переговорах, сказав {P}.
        talks: Переговори про мирну угоду тривають, повідомили в Офісі президента.
        assets: ЄС досі не ухвалив рішення щодо репараційного кредиту із заморожених активів.
        nato: У Києві заявили, що вступ до НАТО залишається стратегічною метою.
    """),
    war=_lines("""
        Російські дрони вночі атакували енергетичну інфраструктуру Харкова.
        За добу на фронті відбулося {N} бойових зіткнень, повідомив Генштаб.
        Після ракетного удару в кількох районах Києва зникло світло.
    """),
    generic=_lines("""
        {A} опинився в центрі уваги в {C} {D}.
        Інтерес до теми {A} за останні {N} місяців помітно зріс, зазначив {P}.
        Представник {A} відмовився коментувати ці повідомлення.
        {A} і {B} стануть головними темами зустрічі в {C}.
        За словами {P}, рішення щодо {A} можуть ухвалити вже {D}.
        Близько {N} відсотків опитаних стежать за новинами про {A}.
    """),
    filler=_lines("""
        У міністерстві не відповіли на запит про коментар.
        Подробиці обіцяють оприлюднити найближчими днями.
        Опозиція розкритикувала рішення як поспішне.
        Інфляція за підсумками місяця сповільнилася до {F} відсотка.
        Синоптики попередили про сильний вітер і дощі на вихідних.
        Міська рада затвердила бюджет {D} з мінімальною перевагою.
        Поки незрозуміло, як фінансуватимуть цей проєкт.
        Аналітики зазначили, що дані збіглися з очікуваннями ринку.
    """),
    themes={
        "sport": _lines("""
            {A} переміг з рахунком {S} і зберіг шанси на титул.
            Тренер похвалив гру захисту після матчу.
        """),
        "tech": _lines("""
            {A} представив нове покоління чипів для центрів обробки даних.
            Регулятори перевіряють, чи дотримувався {A} правил захисту даних.
        """),
        "climate": _lines("""
            {D} у низці регіонів температура піднялася до {N} градусів.
            Науковці пов'язують {A} зі зміною клімату.
        """),
        "companies": _lines("""
            Акції {A} подешевшали на {N} відсотків після зниження прогнозу.
            {A} скоротить кілька сотень робочих місць.
        """),
        "countries": _lines("""
            Уряд {A} оголосив про нові заходи підтримки родин.
            Відносини між {A} і {B} помітно покращилися.
        """),
        "other": _lines("""
            Музей у {C} знову відкриється після {N} місяців ремонту.
            Нова лінія метро запрацює у {Y} році.
        """),
    },
    titles=_lines("""
        {A}: що відомо наразі
        Нові питання до {A}
    """),
    ukraine_titles=_tagged("""
        guarantees: Гарантії безпеки для України обговорили в Парижі
        nato: Зеленський: Україна не відмовиться від вступу до НАТО
        talks: Переговори про мирну угоду тривають
    """),
    war_titles=("Дрони атакували Харків",),
    other_titles=("Міська рада ухвалила бюджет",),
)

PL = Language(
    code="pl",
    days=(
        "w poniedziałek",
        "we wtorek",
        "w środę",
        "w czwartek",
        "w piątek",
        "w sobotę",
        "w niedzielę",
    ),
    cities=("Brukseli", "Genewie", "Paryżu", "Berlinie", "Warszawie", "Krakowie", "Londynie"),
    first_names=("Anna", "Tomasz", "Katarzyna", "Piotr", "Magdalena", "Marek", "Ewa", "Paweł"),
    syllables=_words("kow ski wicz no wak zie lin ska ma rek lew czak"),
    nouns=("bezpieczeństwa", "kosztów", "przepisów", "konkurencji", "finansowania"),
    decimal=",",
    ukraine=_tagged("""
        guarantees: Europejscy przywódcy rozmawiali w {C} o gwarancjach bezpieczeństwa.
        guarantees: Koalicja chętnych jest gotowa wysłać żołnierzy po zawieszeniu broni.
        nato: Zełenski powiedział, że Ukraina nie zrezygnuje z członkostwa w NATO.
        talks: Rozmowy pokojowe w sprawie Ukrainy mają być kontynuowane w Genewie.
        assets: Unia wciąż spiera się o kredyt reparacyjny z zamrożonych rosyjskich aktywów.
        territory: Rosja domaga się wycofania wojsk ukraińskich z Donbasu.
    """),
    war=_lines("""
        Rosyjskie drony zaatakowały w nocy infrastrukturę energetyczną Charkowa.
        Sztab generalny poinformował o {N} starciach na froncie.
    """),
    generic=_lines("""
        {A} znalazł się {D} w centrum uwagi w {C}.
        Zainteresowanie tematem {A} wyraźnie wzrosło w ostatnich {N} miesiącach.
        Rzecznik {A} odmówił komentarza.
        {A} i {B} mają być głównymi tematami spotkania w {C}.
        Według {P} decyzja w sprawie {A} może zapaść już {D}.
        Około {N} procent ankietowanych śledzi informacje o {A}.
    """),
    filler=_lines("""
        Ministerstwo nie odpowiedziało na prośbę o komentarz.
        Szczegóły mają zostać przedstawione w najbliższych dniach.
        Opozycja skrytykowała decyzję jako pospieszną.
        Inflacja spadła w ubiegłym miesiącu do {F} procent.
        Synoptycy ostrzegają przed silnym wiatrem i ulewami w weekend.
        Rada miasta przyjęła budżet {D} niewielką większością głosów.
        Nie jest jasne, jak projekt zostanie sfinansowany.
        Analitycy podkreślili, że dane były zgodne z oczekiwaniami.
    """),
    themes={
        "sport": _lines("""
            {A} wygrał {S} i nadal liczy się w walce o tytuł.
            Trener pochwalił grę obrony po meczu.
        """),
        "tech": _lines("""
            {A} zaprezentował nową generację chipów dla centrów danych.
            Regulatorzy sprawdzają, czy {A} przestrzegał przepisów o ochronie danych.
        """),
        "climate": _lines("""
            {D} w części kraju temperatura sięgnęła {N} stopni.
            Naukowcy łączą {A} ze zmianami klimatu.
        """),
        "companies": _lines("""
            Akcje {A} potaniały o {N} procent po obniżeniu prognozy.
            {A} zamierza zlikwidować kilkaset miejsc pracy.
        """),
        "countries": _lines("""
            Rząd {A} ogłosił nowe działania wspierające rodziny.
            Stosunki między {A} i {B} wyraźnie się poprawiły.
        """),
        "other": _lines("""
            Muzeum w {C} zostanie ponownie otwarte po {N} miesiącach remontu.
            Nowa linia metra ma zostać otwarta w {Y} roku.
        """),
    },
    titles=_lines("""
        {A}: co wiemy do tej pory
        Nowe pytania wokół {A}
    """),
    ukraine_titles=_tagged("""
        guarantees: Gwarancje bezpieczeństwa dla Ukrainy tematem rozmów w Paryżu
        territory: Zełenski: nie oddamy Donbasu
        assets: UE spiera się o zamrożone rosyjskie aktywa
    """),
    war_titles=("Rosyjskie drony zaatakowały Charków",),
    other_titles=("Rada miasta przyjęła budżet",),
)

FR = Language(
    code="fr",
    days=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    cities=("Bruxelles", "Genève", "Paris", "Berlin", "Londres", "Lyon", "Marseille"),
    first_names=("Claire", "Julien", "Camille", "Nicolas", "Sophie", "Antoine", "Léa", "Hugo"),
    syllables=_words("mar tin ber nard du val lef ro che ment ier gau"),
    nouns=("sécurité", "coûts", "règles", "concurrence", "financement"),
    decimal=",",
    ukraine=_tagged("""
        guarantees: Les dirigeants européens ont discuté à {C} des garanties de sécurité.
        guarantees: La coalition des volontaires est prête à déployer des troupes.
        talks: Les négociations sur le plan de paix reprendront la semaine prochaine à Genève.
        assets: Bruxelles hésite à utiliser les avoirs russes gelés pour financer Kiev.
        nato: Zelensky a répété que l'Ukraine ne renoncerait pas à l'adhésion à l'OTAN.
        territory: Moscou exige le retrait des troupes ukrainiennes du Donbass.
    """),
    war=_lines("""
        Des drones russes ont frappé des infrastructures énergétiques à Kharkiv.
        L'état-major ukrainien a fait état de {N} affrontements sur le front.
    """),
    generic=_lines("""
        {A} était au centre de l'attention à {C} {D}.
        L'intérêt pour {A} a fortement augmenté ces {N} derniers mois, selon {P}.
        Un porte-parole de {A} n'a pas souhaité commenter ces informations.
        {A} et {B} devraient dominer la réunion prévue à {C}.
        Selon {P}, une décision concernant {A} pourrait tomber dès {D}.
        Environ {N} % des personnes interrogées suivent l'actualité de {A}.
    """),
    filler=_lines("""
        Le ministère n'a pas répondu à une demande de commentaire.
        D'autres détails seront communiqués dans les prochains jours.
        L'opposition a dénoncé une décision précipitée.
        L'inflation dans la zone euro a ralenti à {F} % le mois dernier.
        Météo-France a émis une alerte aux vents violents pour le week-end.
        Le conseil municipal a adopté le budget {D} à une courte majorité.
        On ignore encore comment le projet sera financé.
        Les analystes ont jugé ces chiffres conformes aux attentes.
    """),
    themes={
        "sport": _lines("""
            {A} s'est imposé {S} et reste en course pour le titre.
            L'entraîneur a salué la solidité de la défense après le match.
        """),
        "tech": _lines("""
            {A} a présenté une nouvelle génération de puces pour les centres de données.
            Les régulateurs examinent si {A} a respecté les règles sur les données.
        """),
        "climate": _lines("""
            {D}, le thermomètre a atteint {N} degrés dans plusieurs régions.
            Les scientifiques associent {A} au changement climatique.
        """),
        "companies": _lines("""
            L'action {A} a reculé de {N} % après un avertissement sur les résultats.
            {A} prévoit de supprimer plusieurs centaines d'emplois.
        """),
        "countries": _lines("""
            Le gouvernement de {A} a annoncé de nouvelles mesures pour les ménages.
            Les relations entre {A} et {B} se sont nettement améliorées.
        """),
        "other": _lines("""
            Le musée de {C} rouvrira après {N} mois de travaux.
            La nouvelle ligne de métro de {C} doit ouvrir en {Y}.
        """),
    },
    titles=_lines("""
        {A} : ce que l'on sait
        Nouvelles questions autour de {A}
    """),
    ukraine_titles=_tagged("""
        guarantees: La coalition des volontaires discute des garanties de sécurité pour Kiev
        talks: Plan de paix : Zelensky pose ses conditions
        assets: Avoirs russes gelés : l'UE toujours divisée
    """),
    war_titles=("Des drones russes frappent Kharkiv",),
    other_titles=("Le conseil municipal adopte le budget",),
)

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in (EN, DE, RU, UK, PL, FR)}
LANGUAGE_WEIGHTS = {"en": 70, "de": 8, "ru": 6, "uk": 6, "pl": 5, "fr": 5}
THEME_WEIGHTS = {
    "ukraine": 20,
    "war": 12,
    "sport": 7,
    "tech": 7,
    "climate": 6,
    "companies": 7,
    "countries": 6,
    "other": 35,
}


# --------------------------------------------------------------------------------------------
# Article generator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Article:
    """One synthetic article, as ``tagging.apply.document_of`` reads a stored one."""

    title: str
    summary: str
    content: str
    language: str
    theme: str

    @property
    def chars(self) -> int:
        return len(self.title) + len(self.summary) + len(self.content)

    @property
    def size(self) -> int:
        """UTF-8 bytes of title, summary and content."""
        return len((self.title + self.summary + self.content).encode("utf-8"))


_SLOT = re.compile(r"\{([A-Z])\}")


class _Writer:
    """Writes one article: fills templates for its language, subjects and theme."""

    def __init__(self, rng: random.Random, language: Language, subjects: list[Subject]) -> None:
        self.rng = rng
        self.language = language
        self.subjects = subjects

    def person(self) -> str:
        rng, language = self.rng, self.language
        surname = "".join(rng.choices(language.syllables, k=rng.randint(2, 3)))
        return f"{rng.choice(language.first_names)} {surname.capitalize()}"

    def mention(self, second: bool) -> str:
        pool = self.subjects[1:] if second and len(self.subjects) > 1 else self.subjects
        subject = self.rng.choice(pool or SUBJECTS)
        return self.rng.choice(subject.mentions(self.language.code))

    def context(self) -> str:
        if self.language.code != "en":
            return self.rng.choice(self.language.nouns)
        subject = self.rng.choice(self.subjects or SUBJECTS)
        return self.rng.choice(subject.context or ("costs", "rules"))

    def slot(self, name: str) -> str:
        rng, language = self.rng, self.language
        if name in "AB":
            return self.mention(second=name == "B")
        values: dict[str, Callable[[], str]] = {
            "K": self.context,
            "P": self.person,
            "C": lambda: rng.choice(language.cities),
            "D": lambda: rng.choice(language.days),
            "N": lambda: str(rng.randint(2, 95)),
            "F": lambda: f"{rng.randint(0, 9)}{language.decimal}{rng.randint(0, 9)}",
            "S": lambda: f"{rng.randint(0, 4)}-{rng.randint(0, 4)}",
            "Y": lambda: str(rng.randint(2026, 2031)),
        }
        return values[name]()

    def fill(self, template: str) -> str:
        text = _SLOT.sub(lambda m: self.slot(m.group(1)), template)
        return text[:1].upper() + text[1:]


UKRAINE_FOCUS = {"guarantees": 25, "talks": 25, "territory": 15, "assets": 15, "nato": 10, "us": 10}


def _plan(
    language: Language, theme: str, rng: random.Random
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """An article's main sentences, those it digresses into, and its possible titles.

    A Ukraine-diplomacy article is about one sub-topic (security guarantees, talks, territory,
    frozen assets, NATO, US relations), with the odd sentence about the others.
    """
    if theme == "ukraine":
        focus = rng.choices(list(UKRAINE_FOCUS), weights=list(UKRAINE_FOCUS.values()))[0]
        if focus not in language.ukraine:
            focus = rng.choice([key for key in language.ukraine if key != "general"])
        general = language.ukraine.get("general", ())
        everything = tuple(text for texts in language.ukraine.values() for text in texts)
        titles = language.ukraine_titles.get(focus) or tuple(
            text for texts in language.ukraine_titles.values() for text in texts
        )
        return language.ukraine[focus] + general, everything + language.war, titles
    if theme == "war":
        return language.war, language.ukraine.get("general", language.war), language.war_titles
    if theme == "other":
        return language.themes["other"], language.filler, language.other_titles
    return (
        language.themes[theme] + language.generic,
        language.war + language.generic,
        language.titles,
    )


def make_article(rng: random.Random) -> Article:
    """One article: language, theme and subjects drawn, then sentences to about 2,000 chars."""
    code = rng.choices(list(LANGUAGE_WEIGHTS), weights=list(LANGUAGE_WEIGHTS.values()))[0]
    theme = rng.choices(list(THEME_WEIGHTS), weights=list(THEME_WEIGHTS.values()))[0]
    language = LANGUAGES[code]
    subjects = rng.sample(BY_THEME[theme], rng.randint(1, 3)) if theme in SUBJECT_THEMES else []
    writer = _Writer(rng, language, subjects)
    main, aside, titles = _plan(language, theme, rng)
    used: Counter[str] = Counter()

    def sentence(pool: Sequence[str]) -> str:
        template = rng.choice(pool)
        for _ in range(8):  # avoid repeats while the pool lasts
            if used[template] == 0:
                break
            template = rng.choice(pool)
        used[template] += 1
        return writer.fill(template)

    def any_sentence() -> str:
        draw = rng.random()
        if draw < 0.4:
            return sentence(main)
        if draw < 0.85:
            return sentence(language.filler)
        return sentence(aside)

    title = writer.fill(rng.choice(titles))
    target = min(2_700, max(1_400, int(rng.gauss(2_000, 250))))

    paragraphs = [[sentence(main), any_sentence()]]
    style = rng.random()
    if style < 0.45:  # the lede, as many feeds send it
        summary = paragraphs[0][0]
    elif style < 0.85:
        summary = " ".join(sentence(main) for _ in range(rng.randint(1, 2)))
    else:
        summary = ""
    size = len(title) + len(summary) + len(" ".join(paragraphs[0]))
    while size < target:
        paragraph = [any_sentence() for _ in range(rng.randint(2, 4))]
        paragraphs.append(paragraph)
        size += len(" ".join(paragraph)) + 2
    if rng.random() < 0.2:  # one sentence in passing about some other subject
        aside_writer = _Writer(rng, language, [rng.choice(SUBJECTS)])
        rng.choice(paragraphs[1:] or paragraphs).append(
            aside_writer.fill(rng.choice(language.generic))
        )
    content = "\n\n".join(" ".join(paragraph) for paragraph in paragraphs)
    if rng.random() < 0.7:  # most outlets publish typographic quotes, apostrophes and dashes
        title, summary, content = (_typeset(text, code) for text in (title, summary, content))
    return Article(title, summary, content, code, theme)


_QUOTED = re.compile(r'"([^"]*)"')
_QUOTES_BY_LANGUAGE = {"de": "„“", "fr": "«\u00a0\u00a0»", "ru": "«»", "uk": "«»", "pl": "„”"}


def _typeset(text: str, language: str) -> str:
    """Straight quotes and hyphens as a newsroom's CMS prints them."""
    quotes = _QUOTES_BY_LANGUAGE.get(language, "“”")
    half = len(quotes) // 2
    opening, closing = quotes[:half], quotes[half:]
    if language == "fr":  # and a no-break space before the high punctuation
        text = text.replace(" %", "\u00a0%").replace(" :", "\u00a0:")
    text = _QUOTED.sub(lambda m: f"{opening}{m.group(1)}{closing}", text)
    return text.replace("'", "’").replace(" - ", " – ")


def make_articles(count: int, seed: int) -> list[Article]:
    rng = random.Random(f"articles-{seed}")
    return [make_article(rng) for _ in range(count)]


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def build_all(articles: Sequence[Article]) -> list[Document]:
    return [Document.build(a.title, a.summary, a.content, a.language) for a in articles]


def build_each(articles: Sequence[Article]) -> None:
    """Build every document and drop it, as the tagging pass does."""
    build = Document.build
    for a in articles:
        build(a.title, a.summary, a.content, a.language)


def match_all(tagger: Tagger, documents: Sequence[Document]) -> list[list[Match]]:
    return [tagger.match(document) for document in documents]


def tag_all(tagger: Tagger, articles: Sequence[Article]) -> list[list[Match]]:
    build, match = Document.build, tagger.match
    return [match(build(a.title, a.summary, a.content, a.language)) for a in articles]


@dataclass
class Timing:
    """CPU and wall seconds of the runs of one stage."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)


def timed(function: Callable[[], T], timing: Timing) -> T:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    result = function()
    timing.cpu.append(time.process_time() - cpu)
    timing.wall.append(time.perf_counter() - wall)
    return result


def _row(name: str, timing: Timing, count: int) -> str:
    cpu = statistics.median(timing.cpu)
    wall = statistics.median(timing.wall)
    spread = f"{min(timing.cpu) / count * 1e6:.0f}-{max(timing.cpu) / count * 1e6:.0f}"
    return (
        f"{name:<34} {count / cpu:>10,.0f} {cpu / count * 1e6:>11.1f} {spread:>11}"
        f" {wall / count * 1e6:>11.1f}"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_source() -> None:
    """Which newswatch is measured: its folder, git commit, uncommitted changes, a digest."""
    import hashlib
    import subprocess

    import newswatch

    package = Path(newswatch.__file__).resolve().parent
    digest = hashlib.sha256()
    for name in ("text.py", "tagging/document.py", "tagging/query.py", "tagging/matcher.py"):
        digest.update((package / name).read_bytes())
    where = f"{package} (tagging sources sha256 {digest.hexdigest()[:12]})"

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(package), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.rstrip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD").strip()
    if commit:
        changed = [line[3:] for line in git("status", "--porcelain", "--", ".").splitlines()]
        state = f"uncommitted changes in {', '.join(changed)}" if changed else "clean"
        where += f"\n            git {commit}, {state}"
    print(f"newswatch   {where}")


def describe_machine(cpu: int | None) -> None:
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"date        {date.today().isoformat()}")
    print(f"machine     {_cpu_model()}, {os.cpu_count()} CPUs, load average {load}")
    pinned = f"pinned to CPU {cpu}" if cpu is not None else f"CPUs allowed {affinity}"
    print(f"process     Python {platform.python_version()}, one thread, {pinned}")


def describe_corpus(articles: Sequence[Article], documents: Sequence[Document]) -> None:
    count = len(articles)
    chars = statistics.mean(a.chars for a in articles)
    size = statistics.mean(a.size for a in articles)
    positions = statistics.mean(sum(len(p) for p in d.tokens.values()) for d in documents)
    distinct = statistics.mean(len(d.tokens) for d in documents)
    languages = Counter(a.language for a in articles)
    themes = Counter(a.theme for a in articles)
    print(
        f"articles    {count:,}: {chars:,.0f} characters ({size:,.0f} UTF-8 bytes), "
        f"{positions:.0f} tokens ({distinct:.0f} distinct) on average"
    )
    print("languages   " + ", ".join(f"{k} {v / count:.0%}" for k, v in languages.most_common()))
    print("themes      " + ", ".join(f"{k} {v / count:.0%}" for k, v in themes.most_common()))


def describe_matches(
    tagger: Tagger,
    default_slugs: set[str],
    articles: Sequence[Article],
    documents: Sequence[Document],
    results: Sequence[list[Match]],
) -> None:
    count = len(results)
    default = [sum(m.slug in default_slugs for m in r) for r in results]
    user = [len(r) - d for r, d in zip(results, default, strict=True)]
    candidates = [_evaluated(tagger, d) for d in documents]
    print(
        f"matches     {statistics.mean(len(r) for r in results):.2f} per article "
        f"(default topics {statistics.mean(default):.2f}, generated {statistics.mean(user):.2f}); "
        f"{sum(1 for r in results if r) / count:.0%} of articles match at least one topic"
    )
    holding = statistics.mean(len(tagger.match(d, include_failed=True)) for d in documents)
    evaluated = "n/a (tagger internals unknown)"
    if all(c is not None for c in candidates):
        counts = [c for c in candidates if c is not None]
        evaluated = f"{statistics.mean(counts):.1f} (max {max(counts)})"
    print(
        f"candidates  {evaluated} of {len(tagger.rules)} topics share a term with an article; "
        f"the query holds for {holding:.2f}; {exact_case_topics(tagger.rules)} topics have an "
        "=EXACT term"
    )
    by_topic = Counter(m.slug for r in results for m in r if m.slug in default_slugs)
    print(
        "default     "
        + ", ".join(f"{slug} {by_topic[slug]}" for slug in sorted(default_slugs))
        + " articles"
    )
    ukraine = [r for a, r in zip(articles, results, strict=True) if a.theme == "ukraine"]
    hit = sum(1 for r in ukraine if any(m.slug in default_slugs for m in r))
    print(f"            {hit} of {len(ukraine)} Ukraine-diplomacy articles match a default topic")


def _evaluated(tagger: Tagger, document: Document) -> int | None:
    """How many topics share a term with the document (None: unknown to this script).

    This reads the tagger's private candidate selection, so it follows its versions: the
    ``_candidates`` method, or the ``_present_terms`` / ``_topics_of`` term index.
    """
    try:
        if hasattr(tagger, "_candidates"):
            return len(tagger._candidates(document))
        found = set(getattr(tagger, "_always", ()))
        for number in tagger._present_terms(document):
            found |= tagger._topics_of.get(number, set())
        return len(found)
    except (AttributeError, TypeError):
        return None


def exact_case_topics(rules: Sequence[TopicRule]) -> int:
    """Topics whose query has an =EXACT (case-sensitive) term."""
    return sum(
        any(term.case_sensitive for term in terms_of(parse_query(rule.query))) for rule in rules
    )


def by_language(tagger: Tagger, articles: Sequence[Article]) -> None:
    """One end-to-end pass timed article by article (CPU time), summarised by language."""
    times: dict[str, list[float]] = defaultdict(list)
    build, match = Document.build, tagger.match
    clock = time.thread_time_ns
    for a in articles:
        started = clock()
        match(build(a.title, a.summary, a.content, a.language))
        times[a.language].append((clock() - started) / 1_000)
    print(f"{'language':<10} {'articles':>9} {'median µs':>10} {'mean µs':>9} {'p95 µs':>8}  (CPU)")
    for language, values in sorted(times.items(), key=lambda kv: -len(kv[1])):
        values.sort()
        p95 = values[int(0.95 * (len(values) - 1))]
        print(
            f"{language:<10} {len(values):>9,} {statistics.median(values):>10.0f}"
            f" {statistics.mean(values):>9.0f} {p95:>8.0f}"
        )


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    marker = f"{os.sep}newswatch{os.sep}"
    if marker in filename:
        filename = "newswatch/" + filename.split(marker, 1)[1].replace(os.sep, "/")
    else:
        filename = Path(filename).name
    return f"{filename}:{line} {name}"


def profile(tagger: Tagger, articles: Sequence[Article], top: int) -> None:
    """One end-to-end pass under cProfile: newswatch's functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    tag_all(tagger, articles)
    profiler.disable()
    stats = pstats.Stats(profiler)
    table = stats.stats
    total = stats.total_tt
    count = len(articles)
    marker = f"{os.sep}newswatch{os.sep}"

    def show(rows: list[tuple[tuple[str, int, str], tuple[int, int, float, float, dict]]]):
        print(f"{'calls':>9} {'own ms':>8} {'cum ms':>8} {'cum µs/art':>10} {'cum %':>6}  function")
        for key, (primitive, calls, own, cumulative, _) in rows:
            shown = f"{calls}" if calls == primitive else f"{calls}/{primitive}"
            print(
                f"{shown:>9} {own * 1e3:>8.1f} {cumulative * 1e3:>8.1f}"
                f" {cumulative / count * 1e6:>10.1f} {cumulative / total:>6.1%}  {_where(key)}"
            )

    print(
        f"\nProfile: one end-to-end pass, {total:.2f} s under cProfile "
        f"({total / count * 1e6:.0f} µs/article with profiling overhead)"
    )
    print(f"\nTop {top} newswatch functions by cumulative time:")
    ours = [item for item in table.items() if marker in item[0][0]]
    show(sorted(ours, key=lambda item: -item[1][3])[:top])
    print("\nTop 12 functions anywhere by own time:")
    show(sorted(table.items(), key=lambda item: -item[1][2])[:12])


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def show_samples(user_rules: Sequence[TopicRule], articles: Sequence[Article]) -> None:
    print("\nSample generated topics:")
    for rule in user_rules[:6]:
        exclude = f"\n    exclude: {rule.exclude}" if rule.exclude else ""
        print(f"  {rule.slug} (threshold {rule.threshold}):\n    {rule.query}{exclude}")
    for article in articles[:2]:
        print(f"\nSample article ({article.language}, {article.theme}, {article.chars} chars):")
        print(f"  title:   {article.title}\n  summary: {article.summary}")
        print("  content: " + article.content.replace("\n\n", "\n           "))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2_000, help="articles per run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs (median reported)")
    parser.add_argument("--seed", type=int, default=1, help="seed of articles and topics")
    parser.add_argument("--user-topics", type=int, default=50, help="generated topics")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="newswatch.yaml")
    parser.add_argument("--cpu", type=int, default=None, help="pin the process to this CPU")
    parser.add_argument("--top", type=int, default=15, help="functions in the profile")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile pass")
    parser.add_argument("--show", action="store_true", help="print sample topics and articles")
    parser.add_argument(
        "--ablate-snippets",
        action="store_true",
        help="also time end to end with snippets replaced by empty strings (diagnostic)",
    )
    return parser.parse_args(argv)


@contextmanager
def snippets_stubbed() -> Iterator[bool]:
    """``matcher.snippet`` replaced by an empty string while inside (False: no such function)."""
    from newswatch.tagging import matcher

    original = getattr(matcher, "snippet", None)
    if original is None:
        yield False
        return
    matcher.snippet = lambda document, hits: ""
    try:
        yield True
    finally:
        matcher.snippet = original


def measure(
    tagger: Tagger, articles: Sequence[Article], runs: int, *, ablate: bool
) -> tuple[dict[str, Timing], list[Document], list[list[Match]]]:
    """The timed runs, stages interleaved so that changes in machine load hit them alike.

    Each match run gets freshly built documents (documents cache some of the matcher's work),
    kept out of the garbage collector's scans with ``gc.freeze``: thousands of live documents
    are hundreds of thousands of containers, and every full collection would scan them all,
    where the tagging pass drops each document after matching it.
    """
    timings = {name: Timing() for name in STAGES}
    ablated = Timing()
    documents: list[Document] = []
    results: list[list[Match]] = []
    for _ in range(runs):
        timed(partial(build_each, articles), timings[STAGES[0]])
        documents = build_all(articles)
        gc.freeze()
        timed(partial(match_all, tagger, documents), timings[STAGES[1]])
        results = timed(partial(tag_all, tagger, articles), timings[STAGES[2]])
        if ablate:
            with snippets_stubbed() as stubbed:
                if stubbed:
                    timed(partial(tag_all, tagger, articles), ablated)
    if ablated.cpu:
        timings["end to end without snippets"] = ablated
    return timings, documents, results


def report_timings(timings: dict[str, Timing], count: int, runs: int) -> None:
    print(
        f"\nOne core, {count:,} articles, median of {runs} runs "
        "(CPU time; range over runs; wall-clock median):"
    )
    print(f"{'stage':<34} {'articles/s':>10} {'µs/article':>11} {'range µs':>11} {'wall µs':>11}")
    for name, timing in timings.items():
        print(_row(name, timing, count))
    rate = count / statistics.median(timings[STAGES[2]].cpu)
    verdict = "met" if rate >= TARGET_PER_SECOND else "NOT met"
    print(f"target      {TARGET_PER_SECOND:,} articles/s end to end: {verdict} ({rate:,.0f}/s)\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    default_rules = load_default_rules(args.config)
    user_rules = make_user_topics(args.user_topics, args.seed)
    started = time.perf_counter()
    tagger = Tagger([*default_rules, *user_rules])
    compile_ms = (time.perf_counter() - started) * 1e3
    articles = make_articles(args.articles, args.seed)

    describe_machine(args.cpu)
    describe_source()
    print(
        f"topics      {len(default_rules)} default ({args.config.name}) + {len(user_rules)} "
        f"generated, compiled in {compile_ms:.1f} ms"
    )
    if args.show:
        show_samples(user_rules, articles)

    tokens("warm up")  # compiles the token patterns (~10 ms): a running monitor has them
    stemmer_for.cache_clear()  # empty stemmer caches: the first pass is a cold start
    cold = Timing()
    timed(partial(tag_all, tagger, articles), cold)

    timings, documents, results = measure(tagger, articles, args.runs, ablate=args.ablate_snippets)
    timings["end to end, first pass (cold caches)"] = cold
    describe_corpus(articles, documents)
    report_timings(timings, len(articles), args.runs)

    default_slugs = {rule.slug for rule in default_rules}
    describe_matches(tagger, default_slugs, articles, documents, results)
    print()
    by_language(tagger, articles)
    if not args.no_profile:
        profile(tagger, articles, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Deterministic sample data shaped like the AtliQ Hardware dataset.

`generate(out_dir, scale, seed, layout, fmt, inject_errors, progress)` writes
one file per source table (`<table>.csv` or `<table>.parquet`) and returns
`{file_stem: rows_written}`.

Shape at scale 1 (full layout): 27 markets, 209 customers, 397 products,
~1.4M monthly sales rows (Sep 2017 - Dec 2021), ~1.9M forecast rows (to Aug
2022), ~2M post-invoice deduction rows, ~1.2k price and cost rows, 1,045
pre-invoice rows, 135 freight rows. Fact rows grow linearly with `scale`;
below 1 the dimensions keep their real sizes (fewer pairs trade each month),
above 1 the number of customers grows with `scale`. The ad-hoc layout is the
same data restricted to fiscal years 2020-2021, with the ad-hoc file and
column names (geography on dim_customer, fiscal_year on the sales rows).

Everything is vectorised with numpy, one month at a time; each month draws
from its own random stream (`default_rng([seed, stream, month])`), so the same
seed and arguments give byte-identical files, and a month's rows do not depend
on the layout. Writing runs on a background thread, overlapping generation.

File conventions
----------------
* CSV: header row, comma separated, LF line endings, quoting only where a
  value needs it (RFC 4180), dates `yyyy-mm-dd`, codes as written (no
  padding/quotes), integers plain, prices/costs/percentages with exactly four
  decimals (`0.0703`, `15.3952`), never exponent notation.
* Parquet (clean data): codes and text `string`, `date` date32, quantities and
  years int64, prices/costs/percentages float64 (rounded to 4 decimals).
* With `inject_errors=True` every column of every table is written as a
  string (in Parquet too: `string` columns holding the same text the CSV
  would), so that malformed values such as `2020-13-01`, `21` or `12,50`
  survive. Clean rows read the same as without injection.

Injected errors (`inject_errors=True`)
--------------------------------------
A few extra rows, appended at the end of their table, each breaking one
business rule of the brief (rule numbers 1-9); `INJECTED` / `INJECTED_ADHOC`
list (table, rule) pairs with schema table names. Fact rows use the month
2020-06-01 (FY2020) unless the date itself is the error, existing codes unless
the reference is the error, and keys absent from the clean rows of the table.

* dim_customer (+2 rows): a copy of an existing customer_code with another
  name (rule 1); a new customer with platform `Online` (rule 8).
* dim_product (+1 row): a copy of an existing product_code with another
  product name (rule 1).
* dim_market: Chile's sub_zone and region are empty (rule 9, a warning: the
  market maps to "Unassigned"). In the ad-hoc layout, the Chile customers'
  sub_zone/region are empty instead.
* fact_sales_monthly (+7 rows; +8 ad-hoc): dates `2020-13-01`, `2020-03-15`,
  `1899-09-01` (rule 2); sold_quantity `-5` (rule 3, on a key that has a
  forecast and a post-invoice row but no sale); customer_code `99999999` and
  product_code `Z9999999999` (rule 4); an empty product_code (rule 7); ad-hoc
  only: a row whose fiscal_year is 2021 while its date 2020-06-01 is FY2020
  (rule 5).
* fact_forecast_monthly (+2): forecast_quantity `-8` on a sold key without a
  forecast (rule 3); an empty customer_code (rule 7).
* post_invoice_deductions (+1): discounts_pct `1.5000` on a key with neither
  sale nor forecast (rule 3).
* pre_invoice_deductions (+1): pre_invoice_discount_pct `-0.0500` for the
  first customer in fiscal year 2016 (rule 3).
* freight_cost (+1): market `Atlantis`, fiscal year 2021 (rule 4).
* gross_price (+2): fiscal_year `21` for a product launched in FY2022 (so
  neither (product, 21) nor (product, 2021) exists otherwise) (rule 5); gross
  price `12,50` for (first product launched in FY2021, 2020) (rule 6).
* Gaps (no rule broken by a row, found by the lookups): the FY2021 gross_price
  row of one product with FY2021 sales is removed (missing price: an error),
  and the FY2020 pre_invoice row of one customer with FY2020 sales is removed
  (missing deduction: a warning). Both pick the product/customer with the
  fewest (but some) sales rows in that year.
"""
from __future__ import annotations

import csv
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import schema

__all__ = ["generate", "INJECTED", "INJECTED_ADHOC", "INJECTED_GAPS"]

# (table, rule number of the brief) for each kind of injected error row.
INJECTED: list[tuple[str, int]] = [
    ("dim_customer", 1),
    ("dim_product", 1),
    ("fact_sales_monthly", 2),
    ("fact_sales_monthly", 3),
    ("fact_forecast_monthly", 3),
    ("post_invoice_deductions", 3),
    ("pre_invoice_deductions", 3),
    ("fact_sales_monthly", 4),
    ("freight_cost", 4),
    ("gross_price", 5),
    ("gross_price", 6),
    ("fact_sales_monthly", 7),
    ("fact_forecast_monthly", 7),
    ("dim_customer", 8),
    ("dim_market", 9),
]
# The ad-hoc layout: same where the table exists, plus a sales fiscal_year
# that disagrees with the date; the rule-9 gap sits on dim_customer.
INJECTED_ADHOC: list[tuple[str, int]] = [
    (t, r) for (t, r) in INJECTED
    if t not in ("fact_forecast_monthly", "post_invoice_deductions", "freight_cost", "dim_market")
] + [("fact_sales_monthly", 5), ("dim_customer", 9)]
# Rows removed (not added) so that lookups come up empty.
INJECTED_GAPS: list[tuple[str, str]] = [
    ("gross_price", "FY2021 price missing for a product with FY2021 sales (error)"),
    ("pre_invoice_deductions", "FY2020 row missing for a customer with FY2020 sales (warning)"),
]

# ---------------------------------------------------------------- calendar --
MONTH0 = np.datetime64("2017-09", "M")  # first sales month (FY2018 starts)
N_SALES_MONTHS = 52  # Sep 2017 .. Dec 2021
N_MONTHS = 60  # forecasts run to Aug 2022
FIRST_FY, LAST_FY = 2018, 2022
ADHOC_FYS = (2020, 2021)
_INJ_MONTH = 33  # 2020-06-01


def _month_days(m: int) -> int:
    """Days since 1970-01-01 of the first of month index m."""
    return int((MONTH0 + m).astype("datetime64[D]").astype(np.int64))


def _month_str(m: int) -> str:
    return str((MONTH0 + m).astype("datetime64[D]"))


def _fy(m: int | np.ndarray):
    return FIRST_FY + np.asarray(m) // 12


def _cal_month(m: int) -> int:
    return (8 + m) % 12 + 1


# ---------------------------------------------------------------- geography --
# market, sub_zone, region, customers at scale 1, demand multiplier
_MARKETS = [
    ("India", "India", "APAC", 12, 1.6),
    ("Indonesia", "ROA", "APAC", 7, 0.9),
    ("Japan", "ROA", "APAC", 8, 1.1),
    ("Pakistan", "ROA", "APAC", 5, 0.6),
    ("Philippines", "ROA", "APAC", 8, 0.8),
    ("South Korea", "ROA", "APAC", 8, 1.2),
    ("Bangladesh", "ROA", "APAC", 5, 0.6),
    ("China", "ROA", "APAC", 9, 1.0),
    ("Australia", "ANZ", "APAC", 9, 1.0),
    ("New Zealand", "ANZ", "APAC", 7, 0.6),
    ("Norway", "NE", "EU", 7, 0.7),
    ("Sweden", "NE", "EU", 7, 0.7),
    ("United Kingdom", "NE", "EU", 9, 1.1),
    ("Germany", "NE", "EU", 9, 1.1),
    ("Netherlands", "NE", "EU", 8, 0.8),
    ("Poland", "NE", "EU", 7, 0.7),
    ("France", "SE", "EU", 9, 1.1),
    ("Italy", "SE", "EU", 8, 0.9),
    ("Spain", "SE", "EU", 8, 0.9),
    ("Portugal", "SE", "EU", 5, 0.6),
    ("Austria", "SE", "EU", 7, 0.7),
    ("Brazil", "LATAM", "LATAM", 7, 0.8),
    ("Chile", "LATAM", "LATAM", 6, 0.5),
    ("Columbia", "LATAM", "LATAM", 6, 0.5),
    ("Mexico", "LATAM", "LATAM", 7, 0.7),
    ("USA", "NA", "NA", 12, 1.8),
    ("Canada", "NA", "NA", 9, 1.0),
]
N_BASE_CUSTOMERS = sum(m[3] for m in _MARKETS)  # 209
_BLANK_GEO_MARKET = "Chile"  # rule 9 injection
_DUP_NAME_MARKET = "India"  # "Voltmart" and "Voltmart " live here

# Invented retailer names (not real companies); E-Commerce ones flagged.
_NAME_POOL_BM = [
    "Voltmart", "Circuit Hub", "Pixel Palace", "Gadget Grove", "Tech Terrace",
    "Kilobyte Corner", "Megabyte Mart", "Silicon Street", "Wired Wonders",
    "Bitwise Depot", "Logicland", "Nexel Stores", "Quantra Retail", "Plugtown",
    "Signal & Socket", "Kernel Supply", "Ampere Avenue", "Ohmtown",
    "Cache & Carry", "Data Den", "Compunest", "Techroost", "Deskwise",
    "Screenside", "Parallax Retail", "Sparkline Stores", "Electroloft",
    "Gearhut", "Hexa Outlet", "Keystroke Kiosk", "Microhaven", "Rackspot",
    "Solderworks", "Wattson Retail", "Iron Pixel", "Amber Circuit",
]
_NAME_POOL_EC = [
    "ByteBazaar", "NovaDigital", "Chipstream", "Gigahaus Online", "Vectorshop",
    "Zentrix", "Bytewise", "Modemia", "Routerly", "Laptopia", "Pixelpoint",
    "Fluxmart", "Ionic Supply", "Joulebox", "Lumenware", "Nodeway",
    "Opticore Store", "Processa", "Quickbyte", "Terabyte Trading",
    "Uplink Bazaar", "Voltway", "Xenon Supplies", "Yottashop", "Zapstore",
    "Clickcart Tech", "Blue Relay", "Red Kernel", "Copperleaf Tech",
    "Cloudnine Gadgets", "Streamline Digital", "Netcrate", "Orbitcart",
    "Sparkcart",
]
_DIRECT_EC = "AtliQ eStore"
_DIRECT_BM = "AtliQ Flagship"

# ---------------------------------------------------------------- products --
# category -> (division, segment, price range USD, units per row, products)
_CATEGORIES = [
    ("Internal HDD", "P & A", "Peripherals", (18, 70), 14, [
        "AQ Bedrock HDD 3.5in 7200 RPM", "AQ Quarry HDD 2.5in 5400 RPM",
        "AQ Vault HDD, 4TB SATA", "AQ Strata HDD 3.5in 256MB Cache",
        "AQ Monolith HDD Enterprise"]),
    ("Graphic Card", "P & A", "Peripherals", (80, 450), 6, [
        "AQ Tempest GT 1650", "AQ Nebula RX, 8GB", "AQ Inferno GT Ti",
        "AQ Aurora Mini ITX"]),
    ("Processors", "P & A", "Peripherals", (90, 480), 7, [
        "AQ Quantum Core 5", "AQ Quantum Core 7", "AQ Helix 8-Core",
        "AQ Helix 12-Core, Boxed", "AQ Spark Dual-Core"]),
    ("Motherboard", "P & A", "Peripherals", (60, 300), 6, [
        "AQ Foundation B450", "AQ Foundation X570 Board", "AQ Keystone Z490",
        "AQ Keystone mATX, Wi-Fi"]),
    ("Mouse", "P & A", "Accessories", (5, 25), 30, [
        "AQ Glide Wireless Mouse", "AQ Pointer Optical Mouse",
        "AQ Falcon Gaming Mouse", "AQ Pebble Travel Mouse",
        "AQ Orbit Ergonomic Mouse, Vertical", "AQ Scout Bluetooth Mouse"]),
    ("Keyboard", "P & A", "Accessories", (8, 60), 22, [
        "AQ Typewell Keyboard", "AQ Clatter Mechanical Keyboard",
        "AQ Slimline Wireless Keyboard", "AQ Forge Gaming Keyboard, RGB",
        "AQ Compact 60% Keyboard"]),
    ("Batteries", "P & A", "Accessories", (3, 15), 38, [
        "AQ PowerCell AA, 8-Pack", "AQ PowerCell AAA, 8-Pack",
        "AQ LongLife Laptop Battery", "AQ Reserve Power Bank 10000mAh"]),
    ("Personal Laptop", "PC", "Notebook", (250, 700), 5, [
        "AQ Lumina 14", "AQ Lumina 15, Touch", "AQ Breeze 13 Ultralight",
        "AQ Voyager 15", "AQ Voyager 14 Flip"]),
    ("Business Laptop", "PC", "Notebook", (400, 900), 4, [
        "AQ Ledger Pro 14", "AQ Ledger Pro 15", "AQ Summit 13 Business",
        "AQ Summit 14, vPro"]),
    ("Gaming Laptop", "PC", "Notebook", (450, 900), 3, [
        "AQ Raptor 15 Gaming", "AQ Raptor 17 Gaming", "AQ Phantom 16, RTX"]),
    ("Personal Desktop", "PC", "Desktop", (250, 650), 3, [
        "AQ HomeBase Tower", "AQ HomeBase Mini", "AQ Studio All-in-One 24"]),
    ("Business Desktop", "PC", "Desktop", (350, 800), 3, [
        "AQ Workhorse SFF", "AQ Workhorse Tower", "AQ Office Station, Micro"]),
    ("USB Flash Drives", "N & S", "Storage", (4, 30), 34, [
        "AQ Pocket Drive 32GB", "AQ Pocket Drive 64GB", "AQ Swift USB-C Drive",
        "AQ Keyring Mini Drive", "AQ Armor Rugged Drive, 128GB"]),
    ("External Solid State Drives", "N & S", "Storage", (40, 200), 12, [
        "AQ Rocket Portable SSD", "AQ Rocket Portable SSD, 1TB",
        "AQ Shield Rugged SSD", "AQ Slim NVMe SSD"]),
    ("Wi fi extender", "N & S", "Networking", (15, 80), 15, [
        "AQ Reach Wi-Fi Extender", "AQ Reach Mesh Node",
        "AQ Signal Booster AC1200", "AQ Signal Booster AX3000, Dual Band"]),
]
_DIVISION_LETTER = {"P & A": "A", "PC": "B", "N & S": "C"}
_VARIANTS = ["Standard", "Plus", "Premium", "Pro", "Ultra", "Max", "Elite", "Signature"]
N_PRODUCTS = 397

# ------------------------------------------------------------- demand model --
# Sales rows per month at scale 1, anchored at fiscal-year midpoints.
_ROW_ANCHORS_M = np.array([5.5, 17.5, 29.5, 41.5, 49.5])
_ROW_ANCHORS_N = np.array([5000.0, 11700.0, 28700.0, 55500.0, 62500.0])
_ROW_GROWTH_AFTER = 0.012  # per month, beyond the last anchor (2022 forecasts)
_Q_BASE = 0.88  # share of carried pairs that order in a given month
_Q_MONTH = {11: 0.93, 12: 0.91}
_Q_DIP = {30: 0.78, 31: 0.72, 32: 0.80}  # Mar-May 2020
_SEASON = {9: 1.0, 10: 1.05, 11: 1.5, 12: 1.25, 1: 0.9, 2: 0.88, 3: 0.95,
           4: 0.95, 5: 1.0, 6: 1.02, 7: 1.0, 8: 1.08}
_DIP = {30: 0.6, 31: 0.5, 32: 0.7, 33: 0.9}
_TREND = 1.06  # units per row, per year
_EXTRA_SHARE = 0.16  # forecast-only keys, as a share of sold keys
_FORECAST_SHARE = 0.95  # sold keys that have a forecast
_ZERO_SHARE = 0.012  # sold rows forced to quantity 0

# random sub-streams
_S_DIMS, _S_PAIRS, _S_MONTH = 0, 1, 2


# ================================================================ dimensions ==
class _Dims:
    """All dimension attributes as arrays (customers and products indexed 0..n-1)."""

    def __init__(self, seed: int, scale: float):
        rng = np.random.default_rng([seed, _S_DIMS])
        self._markets()
        self._products(rng)
        self._customers(rng, scale)
        self._pairs(seed)

    # -- markets
    def _markets(self):
        self.market = [m[0] for m in _MARKETS]
        self.sub_zone = [m[1] for m in _MARKETS]
        self.region = [m[2] for m in _MARKETS]
        self.market_mult = np.array([m[4] for m in _MARKETS])

    # -- products
    def _products(self, rng: np.random.Generator):
        bases = []  # (category index, serial in category, name)
        for ci, cat in enumerate(_CATEGORIES):
            for si, name in enumerate(cat[5]):
                bases.append((ci, si + 1, name))
        nb = len(bases)
        pattern = np.array([5, 6, 4, 7, 5, 3, 6, 8, 4, 5, 7, 6, 5, 4, 8, 6, 5, 7])
        counts = np.resize(pattern, nb).astype(np.int64)
        # adjust deterministically to exactly N_PRODUCTS variants
        i = 0
        while counts.sum() != N_PRODUCTS:
            j = i % nb
            if counts.sum() < N_PRODUCTS and counts[j] < len(_VARIANTS):
                counts[j] += 1
            elif counts.sum() > N_PRODUCTS and counts[j] > 2:
                counts[j] -= 1
            i += 7  # stride through the list
        # launch fiscal year per base product: quota on cumulative variants,
        # the last base of the permutation launches in FY2022 (Oct 2021)
        order = rng.permutation(nb)
        launch_m = np.zeros(nb, dtype=np.int64)
        cum = np.cumsum(counts[order[:-1]]) / counts[order[:-1]].sum()
        fy_idx = np.searchsorted([0.15, 0.33, 0.63, 1.0 + 1e-9], cum, side="left")
        fy_idx = np.minimum(fy_idx, 3)
        u = rng.random(nb)
        early = rng.random(nb) < 0.6
        m_fy = np.where(
            fy_idx == 0,
            np.where(early[: nb - 1], 0, 1 + (u[: nb - 1] * 11).astype(np.int64)),
            np.where(fy_idx == 3, 36 + (u[: nb - 1] * 10).astype(np.int64),
                     12 * fy_idx + (u[: nb - 1] * 12).astype(np.int64)),
        )
        launch_m[order[:-1]] = m_fy
        launch_m[order[-1]] = 49
        self.base_launch = launch_m

        cat_idx = np.repeat([b[0] for b in bases], counts)
        base_idx = np.repeat(np.arange(nb), counts)
        var_idx = np.concatenate([np.arange(k) for k in counts])
        serial = np.repeat([b[1] for b in bases], counts)
        self.n_products = n = len(cat_idx)
        self.p_cat = cat_idx
        self.p_base = base_idx
        self.p_launch = launch_m[base_idx]
        launch_fy = _fy(self.p_launch)
        launch_cal = np.array([_cal_month(int(m)) for m in range(N_MONTHS)])[self.p_launch]
        div = [_CATEGORIES[c][1] for c in cat_idx]
        self.p_division = div
        self.p_segment = [_CATEGORIES[c][2] for c in cat_idx]
        self.p_category = [_CATEGORIES[c][0] for c in cat_idx]
        self.p_name = [bases[b][2] for b in base_idx]
        self.p_variant = [_VARIANTS[v] for v in var_idx]
        self.p_code = [
            f"{_DIVISION_LETTER[d]}{c + 1:02d}{fy % 100:02d}{cm:02d}{s:02d}{v + 1:02d}"
            for d, c, fy, cm, s, v in zip(div, cat_idx, launch_fy, launch_cal, serial, var_idx)
        ]
        assert len(set(self.p_code)) == n
        # demand: units per row by category, product popularity, variant taper
        base_units = np.array([c[4] for c in _CATEGORIES], dtype=np.float64)[cat_idx]
        pop = np.exp(0.4 * rng.standard_normal(nb))[base_idx]
        self.p_units = base_units * pop / (1.0 + 0.15 * var_idx)
        # price: log-position in the category range from the product and its
        # variant (higher variants cost more), then a yearly drift of 1-6 %
        lo = np.array([c[3][0] for c in _CATEGORIES], dtype=np.float64)[cat_idx]
        hi = np.array([c[3][1] for c in _CATEGORIES], dtype=np.float64)[cat_idx]
        pos = 0.6 * rng.random(nb)[base_idx] + 0.04 * var_idx + 0.02 * rng.standard_normal(n)
        pos = np.clip(pos, 0.0, 0.88)
        price0 = lo * (hi / lo) ** pos
        n_fy = LAST_FY - FIRST_FY + 1
        drift = 1.0 + rng.uniform(0.01, 0.06, size=(n, n_fy))
        drift[:, 0] = 1.0
        rel = np.cumprod(drift, axis=1)  # price relative to FY2018
        first = launch_fy - FIRST_FY
        rel = rel / rel[np.arange(n), first][:, None]  # launch FY at price0
        self.price = price0[:, None] * rel  # (n, FY2018..FY2022)
        cost_ratio = rng.uniform(0.2, 0.4, size=n)
        cost_noise = np.exp(0.03 * rng.standard_normal((n, n_fy)))
        self.cost = self.price * cost_ratio[:, None] * cost_noise
        self.p_disc = 0.008 * rng.standard_normal(n)
        self.p_launch_fy = launch_fy

    # -- customers
    def _customers(self, rng: np.random.Generator, scale: float):
        base = np.array([m[3] for m in _MARKETS])
        total = max(N_BASE_CUSTOMERS, int(round(N_BASE_CUSTOMERS * scale)))
        if total == N_BASE_CUSTOMERS:
            per = base.copy()
        else:
            exact = base * total / N_BASE_CUSTOMERS
            per = np.floor(exact).astype(np.int64)
            rest = total - per.sum()
            per[np.argsort(-(exact - per), kind="stable")[:rest]] += 1
        codes, names, markets, platforms, channels = [], [], [], [], []
        pool = _NAME_POOL_BM + _NAME_POOL_EC
        pool_ec = np.array([False] * len(_NAME_POOL_BM) + [True] * len(_NAME_POOL_EC))
        for mi, (mname, _, _, nbase, _) in enumerate(_MARKETS):
            k = int(per[mi])
            direct = []
            if nbase >= 8:
                direct.append((_DIRECT_EC, "E-Commerce"))
            if nbase >= 9:
                direct.append((_DIRECT_BM, "Brick & Mortar"))
            n_other = k - len(direct)
            cand = np.arange(len(pool))
            if mname == _DUP_NAME_MARKET:
                cand = cand[cand != pool.index("Voltmart")]
            perm = rng.permutation(cand)
            pick = np.resize(perm, n_other)
            m_names = [pool[i] for i in pick]
            m_plat = ["E-Commerce" if pool_ec[i] else "Brick & Mortar" for i in pick]
            if mname == _DUP_NAME_MARKET and n_other >= 2:
                m_names[0], m_names[1] = "Voltmart", "Voltmart "
                m_plat[0] = m_plat[1] = "Brick & Mortar"
            m_chan = np.where(rng.random(n_other) < 0.17, "Distributor", "Retailer").tolist()
            for j, (nm, pl) in enumerate(direct):
                names.append(nm)
                platforms.append(pl)
                channels.append("Direct")
            names += m_names
            platforms += m_plat
            channels += m_chan
            markets += [mi] * k
            codes += [f"9{mi:02d}{2001 + j:05d}" for j in range(k)]
        self.n_customers = n = len(codes)
        self.c_code = codes
        self.c_name = names
        self.c_market = np.array(markets, dtype=np.int64)
        self.c_platform = platforms
        self.c_channel = channels
        is_direct = np.array([ch == "Direct" for ch in channels])
        z = rng.standard_normal(n)
        self.c_size = np.exp(0.7 * z) * self.market_mult[self.c_market] * np.where(is_direct, 1.5, 1.0)
        self.c_affinity = np.exp(0.3 * z)  # bigger customers carry more products
        late = (rng.random(n) >= 0.75) & ~is_direct
        self.c_start = np.where(late, rng.integers(1, 41, size=n), 0)
        self.c_bias = rng.normal(0.02, 0.07, size=n)
        self.c_disc = rng.uniform(0.035, 0.11, size=n)
        self.c_other = rng.uniform(0.006, 0.03, size=n)
        self.c_pre = rng.uniform(0.07, 0.28, size=n)
        self.c_pre_noise = rng.normal(0.0, 0.012, size=(n, LAST_FY - FIRST_FY + 1))

    # -- persistent pair attributes, product-major grid flattened
    def _pairs(self, seed: int):
        rng = np.random.default_rng([seed, _S_PAIRS])
        g = self.n_products * self.n_customers
        self.pair_rank = rng.random(g, dtype=np.float32)  # carried when below threshold
        self.pair_factor = np.exp(0.35 * rng.standard_normal(g, dtype=np.float32))


def _carry_levels(d: _Dims, scale: float) -> np.ndarray:
    """Per month, the carry level c such that expected sales rows hit the target."""
    m = np.arange(N_MONTHS)
    logn = np.interp(m, _ROW_ANCHORS_M, np.log(_ROW_ANCHORS_N))
    slope0 = (np.log(_ROW_ANCHORS_N[1]) - np.log(_ROW_ANCHORS_N[0])) / 12.0
    logn = np.where(m < _ROW_ANCHORS_M[0], np.log(_ROW_ANCHORS_N[0]) - slope0 * (_ROW_ANCHORS_M[0] - m), logn)
    logn = np.where(m > _ROW_ANCHORS_M[-1],
                    np.log(_ROW_ANCHORS_N[-1]) + _ROW_GROWTH_AFTER * (m - _ROW_ANCHORS_M[-1]), logn)
    target = np.exp(logn) * scale / _Q_BASE
    levels = np.zeros(N_MONTHS)
    a = d.c_affinity
    for mm in range(N_MONTHS):
        n_launched = int((d.p_launch <= mm).sum())
        started = d.c_start <= mm
        aa = a[started]
        if n_launched == 0 or aa.size == 0:
            continue

        def expected(c):
            return n_launched * np.minimum(1.0, c * aa).sum()

        hi = 1.0 / aa.min()
        if expected(hi) <= target[mm]:
            levels[mm] = hi
            continue
        lo = 0.0
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            if expected(mid) < target[mm]:
                lo = mid
            else:
                hi = mid
        levels[mm] = 0.5 * (lo + hi)
    return levels


# ============================================================ output sinks ==
STR, DATE, INT, DEC4 = "str", "date", "int", "dec4"


def _dec4_array(units: np.ndarray) -> pa.Array:
    """int64 ten-thousandths -> decimal128(18, 4) without going through floats."""
    units = np.ascontiguousarray(units, dtype=np.int64)
    buf = np.empty((units.size, 2), dtype=np.int64)
    buf[:, 0] = units
    buf[:, 1] = units >> 63  # sign extension
    return pa.Array.from_buffers(pa.decimal128(18, 4), units.size, [None, pa.py_buffer(buf)])


def _units(x: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(x, dtype=np.float64) * 10000.0).astype(np.int64)


class _Sink:
    """One output table. Columns are (name, kind); chunks map name -> raw values:
    STR: pa.Array or list of str; DATE: int32 days; INT: int64; DEC4: int64 units."""

    FLUSH_ROWS = 1 << 20

    def __init__(self, path: Path, columns: list[tuple[str, str]], fmt: str, text: bool, big: bool):
        self.path, self.columns, self.fmt, self.text, self.big = path, columns, fmt, text, big
        self.rows = 0
        self._buf: list[pa.Table] = []
        self._buf_rows = 0
        self._writer = None
        self._file = None
        self.schema = pa.schema([(n, self._type(k)) for n, k in columns])

    def _type(self, kind: str) -> pa.DataType:
        if self.text or kind == STR:
            return pa.string()
        if kind == DATE:
            return pa.date32()
        if kind == INT:
            return pa.int64()
        return pa.decimal128(18, 4) if self.fmt == "csv" else pa.float64()

    def _array(self, kind: str, v) -> pa.Array:
        if kind == STR:
            return v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v, pa.string())
        if kind == DATE:
            arr = pa.array(np.asarray(v, dtype=np.int32), pa.date32())
        elif kind == INT:
            arr = pa.array(np.asarray(v, dtype=np.int64))
        elif self.fmt == "csv" or self.text:
            arr = _dec4_array(v)
        else:
            arr = pa.array(np.asarray(v, dtype=np.int64) / 10000.0)
        return pc.cast(arr, pa.string()) if self.text else arr

    def table(self, chunk: dict) -> pa.Table:
        return pa.Table.from_arrays([self._array(k, chunk[n]) for n, k in self.columns], schema=self.schema)

    def text_rows(self, rows: list[list[str]]) -> pa.Table:
        """Injected rows, already strings (the sink must be in text mode)."""
        assert self.text
        cols = list(zip(*rows)) if rows else [[] for _ in self.columns]
        return pa.Table.from_arrays([pa.array(list(c), pa.string()) for c in cols], schema=self.schema)

    def write(self, t: pa.Table) -> None:
        if t.num_rows == 0:
            return
        self.rows += t.num_rows
        self._buf.append(t)
        self._buf_rows += t.num_rows
        # CSV streams each chunk; Parquet collects ~1M rows per row group
        if self.big and (self.fmt == "csv" or self._buf_rows >= self.FLUSH_ROWS):
            self._flush()

    def _flush(self) -> None:
        if not self._buf:
            return
        t = pa.concat_tables(self._buf) if len(self._buf) > 1 else self._buf[0]
        self._buf, self._buf_rows = [], 0
        if self.fmt == "parquet":
            if self._writer is None:
                self._writer = pq.ParquetWriter(str(self.path), self.schema, compression="snappy")
            self._writer.write_table(t, row_group_size=self.FLUSH_ROWS)
        else:
            if self._writer is None:
                self._open_csv()
            self._writer.write_table(t)

    def _open_csv(self) -> None:
        self._file = pa.OSFile(str(self.path), "wb")
        self._file.write((",".join(n for n, _ in self.columns) + "\n").encode())
        self._writer = pacsv.CSVWriter(
            self._file, self.schema,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
        )

    def close(self) -> int:
        if not self.big:
            t = pa.concat_tables(self._buf) if self._buf else self.schema.empty_table()
            self._buf = []
            if self.fmt == "parquet":
                pq.write_table(t, str(self.path), compression="snappy")
            else:
                _write_small_csv(t, self.path)
            return self.rows
        self._flush()
        if self._writer is None:  # nothing written: still a file with a header
            if self.fmt == "parquet":
                pq.write_table(self.schema.empty_table(), str(self.path), compression="snappy")
            else:
                self._open_csv()
        if self._writer is not None:
            self._writer.close()
        if self._file is not None:
            self._file.close()
        return self.rows


def _write_small_csv(t: pa.Table, path: Path) -> None:
    """Minimal RFC 4180 quoting (names may hold commas) for the small tables."""
    cols = [pc.cast(c, pa.string()).to_pylist() for c in t.columns]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(t.column_names)
        w.writerows(zip(*cols))


class _Writer:
    """Runs sink writes on one background thread, in submission order."""

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: list[Future] = []

    def submit(self, fn, *args) -> None:
        self._pending.append(self._pool.submit(fn, *args))
        while len(self._pending) > 3:
            self._pending.pop(0).result()

    def drain(self) -> None:
        while self._pending:
            self._pending.pop(0).result()

    def shutdown(self) -> None:
        try:
            self.drain()
        finally:
            self._pool.shutdown(wait=True)


# ================================================================= generate ==
def generate(out_dir: str | Path, scale: float = 1.0, seed: int = 7, layout: str = "full",
             fmt: str = "csv", inject_errors: bool = False,
             progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Write the sample tables into out_dir; return {file_stem: rows_written}.

    layout: "full" (the 10 tables of schema.FULL_LAYOUT) or "adhoc" (the 6 of
    schema.ADHOC_LAYOUT, fiscal years 2020-2021). fmt: "csv" or "parquet".
    inject_errors: append a few rows breaking the business rules (see the
    module docstring); then every column is written as a string, in Parquet
    too. progress: called once per table written with a line such as
    "fact_sales_monthly: 1,412,345 rows".
    """
    if layout not in ("full", "adhoc"):
        raise ValueError(f"layout must be 'full' or 'adhoc', not {layout!r}")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    scale = float(scale)
    if not scale > 0:
        raise ValueError("scale must be positive")
    seed = int(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    adhoc = layout == "adhoc"
    say = progress or (lambda line: None)

    d = _Dims(seed, scale)
    levels = _carry_levels(d, scale)
    g = _Generator(d, levels, seed, adhoc, inject_errors)

    def sink(table: str, columns, big=False) -> _Sink:
        return _Sink(out / f"{table}.{fmt}", columns, fmt, inject_errors, big)

    names = _file_names(adhoc)
    counts: dict[str, int] = {}
    writer = _Writer()

    def finish(key: str, s: _Sink) -> None:
        def job():
            counts[names[key]] = s.close()
        writer.submit(job)
        writer.drain()
        say(f"{names[key]}: {counts[names[key]]:,} rows")

    try:
        # dimensions
        for key, (cols, chunk, bad) in g.dimension_tables().items():
            s = sink(names[key], cols)
            writer.submit(s.write, s.table(chunk))
            if bad:
                writer.submit(s.write, s.text_rows(bad))
            finish(key, s)
        # facts, one month at a time
        fact_sinks = {key: sink(names[key], cols, big=True) for key, cols in g.fact_columns().items()}
        for m in g.months():
            for key, chunk in g.month(m).items():
                s = fact_sinks[key]
                writer.submit(lambda s=s, chunk=chunk: s.write(s.table(chunk)))
        for key, s in fact_sinks.items():
            bad = g.fact_injections.get(key)
            if bad:
                writer.submit(s.write, s.text_rows(bad))
            finish(key, s)
        # lookups (after the facts: the injected gaps depend on the sales)
        for key, (cols, chunk, bad) in g.lookup_tables().items():
            s = sink(names[key], cols)
            writer.submit(s.write, s.table(chunk))
            if bad:
                writer.submit(s.write, s.text_rows(bad))
            finish(key, s)
        writer.drain()
    finally:
        writer.shutdown()
    return {names[k]: counts[names[k]] for k in names}


def _file_names(adhoc: bool) -> dict[str, str]:
    """schema table name -> file stem, in the layout's order."""
    if not adhoc:
        return {t: t for t in schema.FULL_LAYOUT}
    out = {}
    for stem in schema.ADHOC_LAYOUT:
        spec = schema.spec_for_file_name(stem)
        out[spec.name] = stem
    return out


def _cols(table: str, adhoc: bool) -> list[tuple[str, str]]:
    kinds = {schema.CODE: STR, schema.TEXT: STR, schema.MONTH: DATE, schema.YEAR: INT,
             schema.QUANTITY: INT, schema.AMOUNT: DEC4, schema.PERCENT: DEC4}
    spec = schema.TABLES[table]
    if table == "dim_customer" and adhoc:
        names = ["customer_code", "customer", "platform", "channel", "market", "sub_zone", "region"]
    elif not adhoc and table in ("dim_customer", "fact_sales_monthly"):
        names = [c.name for c in spec.columns if c.required]
    else:
        names = spec.column_names
    return [(n, kinds[spec.column(n).kind]) for n in names]


class _Generator:
    def __init__(self, d: _Dims, levels: np.ndarray, seed: int, adhoc: bool, inject: bool):
        self.d, self.levels, self.seed, self.adhoc, self.inject = d, levels, seed, adhoc, inject
        self.fys = list(ADHOC_FYS) if adhoc else list(range(FIRST_FY, LAST_FY + 1))
        self.pcodes = pa.array(d.p_code, pa.string())
        self.ccodes = pa.array(d.c_code, pa.string())
        nfy = LAST_FY - FIRST_FY + 1
        self.p_fy_rows = np.zeros(d.n_products * nfy, dtype=np.int64)
        self.c_fy_rows = np.zeros(d.n_customers * nfy, dtype=np.int64)
        self.fact_injections: dict[str, list[list[str]]] = {}

    # ---- dimensions
    def dimension_tables(self) -> dict:
        d, adhoc, inject = self.d, self.adhoc, self.inject
        tables = {}
        cm = d.c_market
        sub = [d.sub_zone[i] for i in cm]
        reg = [d.region[i] for i in cm]
        if inject and adhoc:
            blank = d.market.index(_BLANK_GEO_MARKET)
            sub = ["" if i == blank else s for i, s in zip(cm, sub)]
            reg = ["" if i == blank else r for i, r in zip(cm, reg)]
        mk = [d.market[i] for i in cm]
        chunk = {"customer_code": d.c_code, "customer": d.c_name, "market": mk,
                 "platform": d.c_platform, "channel": d.c_channel, "sub_zone": sub, "region": reg}
        cols = _cols("dim_customer", adhoc)
        bad = []
        if inject:
            # rule 1: a second row for an existing code, another name
            j = self._dup_customer()
            row = dict(_chunk_row(chunk, j), customer=d.c_name[j].strip() + " Intl")
            # rule 8: a new customer with an unknown platform
            usa = d.market.index("USA")
            serial = int((cm == usa).sum()) + 2001
            new = {"customer_code": f"9{usa:02d}{serial:05d}", "customer": "Clickstream Outlet",
                   "market": "USA", "platform": "Online", "channel": "Retailer",
                   "sub_zone": d.sub_zone[usa], "region": d.region[usa]}
            bad = [[row[n] for n, _ in cols], [new[n] for n, _ in cols]]
        tables["dim_customer"] = (cols, chunk, bad)
        if not adhoc:
            sub_m, reg_m = list(d.sub_zone), list(d.region)
            if inject:  # rule 9 (warning): a market without geography
                i = d.market.index(_BLANK_GEO_MARKET)
                sub_m[i] = reg_m[i] = ""
            tables["dim_market"] = (_cols("dim_market", adhoc),
                                    {"market": d.market, "sub_zone": sub_m, "region": reg_m}, [])
        pchunk = {"product_code": d.p_code, "division": d.p_division, "segment": d.p_segment,
                  "category": d.p_category, "product": d.p_name, "variant": d.p_variant}
        pcols = _cols("dim_product", adhoc)
        bad = []
        if inject:  # rule 1: a second row for an existing product code
            j = self._dup_product()
            row = dict(_chunk_row(pchunk, j), product=d.p_name[j] + " (relabelled)")
            bad = [[row[n] for n, _ in pcols]]
        tables["dim_product"] = (pcols, pchunk, bad)
        return tables

    def _dup_customer(self) -> int:
        d = self.d
        japan = d.market.index("Japan")
        return int(np.flatnonzero(d.c_market == japan)[-1])

    def _dup_product(self) -> int:
        d = self.d
        return int(np.flatnonzero(np.array(d.p_category) == "Mouse")[1])

    # ---- facts
    def fact_columns(self) -> dict:
        keys = ["fact_sales_monthly"] if self.adhoc else [
            "fact_sales_monthly", "fact_forecast_monthly", "post_invoice_deductions"]
        return {k: _cols(k, self.adhoc) for k in keys}

    def months(self) -> range:
        return range(24, 48) if self.adhoc else range(N_MONTHS)

    def month(self, m: int) -> dict:
        """The fact chunks of month index m (keys: schema table names)."""
        d = self.d
        rng = np.random.default_rng([self.seed, _S_MONTH, m])
        nc = d.n_customers
        launched = d.p_launch <= m
        started = d.c_start <= m
        active = (launched[:, None] & started[None, :]).ravel()
        thr = np.minimum(1.0, self.levels[m] * d.c_affinity).astype(np.float32)
        carried = active & (d.pair_rank.reshape(-1, nc) < thr[None, :]).ravel()
        u1 = rng.random(active.size, dtype=np.float32)
        cal = _cal_month(m)
        lam_m = _SEASON[cal] * _DIP.get(m, 1.0) * _TREND ** (m / 12.0)
        day = _month_days(m)
        out = {}
        if m < N_SALES_MONTHS:
            q = _Q_DIP.get(m, _Q_MONTH.get(cal, _Q_BASE))
            present = carried & (u1 < q)
            u2 = rng.random(active.size, dtype=np.float32)
            n_sold = int(present.sum())
            gap = carried & ~present
            uncarried = active & ~carried
            n_unc = int(uncarried.sum())
            p_top = max(0.0, _EXTRA_SHARE * n_sold - 0.9 * int(gap.sum())) / max(n_unc, 1)
            extra = (gap & (u2 < 0.9)) | (uncarried & (u2 < p_top))
            U = np.flatnonzero(present | extra)
            is_s = present[U]
        else:
            cov = 0.72 - 0.05 * (m - N_SALES_MONTHS)
            U = np.flatnonzero(carried & (u1 < cov))
            is_s = np.zeros(U.size, dtype=bool)
        n = U.size
        p = U // nc
        c = U % nc
        z_q = rng.standard_normal(n, dtype=np.float32)
        u_round = rng.random(n, dtype=np.float32)
        u_zero = rng.random(n, dtype=np.float32)
        z_f = rng.standard_normal(n, dtype=np.float32)
        u_f = rng.random(n, dtype=np.float32)
        z_d = rng.standard_normal(n, dtype=np.float32)
        z_o = rng.standard_normal(n, dtype=np.float32)
        lam = d.p_units[p] * d.c_size[c] * d.pair_factor[U] * lam_m
        sold = np.floor(lam * np.exp(0.45 * z_q - 0.1) + u_round).astype(np.int64)
        sold[u_zero < _ZERO_SHARE] = 0
        bias = d.c_bias[c]
        if m < N_SALES_MONTHS:
            f_base = np.where(is_s, 0.75 * sold + 0.25 * lam, 0.5 * lam)
            f_sig = np.where(is_s, 0.22, 0.4)
            has_f = ~is_s | (u_f < _FORECAST_SHARE)
        else:
            f_base, f_sig = lam, 0.3
            has_f = np.ones(n, dtype=bool)
        fc = np.rint(f_base * np.exp(bias + f_sig * z_f)).astype(np.int64)
        disc = np.clip(d.c_disc[c] + d.p_disc[p] + 0.006 * z_d, 0.02, 0.15)
        other = np.clip(d.c_other[c] + 0.003 * z_o, 0.001, 0.05)

        fy = int(_fy(m))
        nfy = LAST_FY - FIRST_FY + 1
        if m < N_SALES_MONTHS:
            ps, cs = p[is_s], c[is_s]
            self.p_fy_rows += np.bincount(ps * nfy + (fy - FIRST_FY), minlength=self.p_fy_rows.size)
            self.c_fy_rows += np.bincount(cs * nfy + (fy - FIRST_FY), minlength=self.c_fy_rows.size)
            sales = {"date": np.full(ps.size, day, np.int32),
                     "product_code": pc.take(self.pcodes, pa.array(ps)),
                     "customer_code": pc.take(self.ccodes, pa.array(cs)),
                     "sold_quantity": sold[is_s]}
            if self.adhoc:
                sales["fiscal_year"] = np.full(ps.size, fy, np.int64)
            out["fact_sales_monthly"] = sales
        if not self.adhoc:
            pf, cf = p[has_f], c[has_f]
            out["fact_forecast_monthly"] = {
                "date": np.full(pf.size, day, np.int32),
                "product_code": pc.take(self.pcodes, pa.array(pf)),
                "customer_code": pc.take(self.ccodes, pa.array(cf)),
                "forecast_quantity": fc[has_f]}
            out["post_invoice_deductions"] = {
                "customer_code": pc.take(self.ccodes, pa.array(c)),
                "product_code": pc.take(self.pcodes, pa.array(p)),
                "date": np.full(n, day, np.int32),
                "discounts_pct": _units(disc),
                "other_deductions_pct": _units(other)}
        if self.inject and m == _INJ_MONTH:
            self._inject_facts(m, active, present, U, is_s, has_f)
        return out

    def _inject_facts(self, m, active, present, U, is_s, has_f) -> None:
        d, nc = self.d, self.d.n_customers
        date = _month_str(m)
        fy = str(int(_fy(m)))
        in_u = np.zeros(active.size, dtype=bool)
        in_u[U] = True
        sold_keys = U[is_s]
        extra_keys = U[~is_s]
        free = np.flatnonzero(active & ~in_u)  # neither sale nor forecast
        k0 = int(sold_keys[0]) if sold_keys.size else int(np.flatnonzero(active)[0])
        p0, c0 = d.p_code[k0 // nc], d.c_code[k0 % nc]
        no_sale = list(extra_keys[:2]) + list(free[:2])  # keys absent from sales
        kneg, kfy = int(no_sale[0]), int(no_sale[1])
        sales = [
            ["2020-13-01", p0, c0, "10", "2021"],  # rule 2: unparseable
            ["2020-03-15", p0, c0, "11", "2020"],  # rule 2: not the first of the month
            ["1899-09-01", p0, c0, "12", "1900"],  # rule 2: out of range
            [date, d.p_code[kneg // nc], d.c_code[kneg % nc], "-5", fy],  # rule 3
            [date, p0, "99999999", "12", fy],  # rule 4: unknown customer
            [date, "Z9999999999", c0, "7", fy],  # rule 4: unknown product
            [date, "", c0, "3", fy],  # rule 7: empty product_code
        ]
        if self.adhoc:
            sales.append([date, d.p_code[kfy // nc], d.c_code[kfy % nc], "4", str(int(fy) + 1)])  # rule 5
        else:
            sales = [r[:4] for r in sales]
        self.fact_injections["fact_sales_monthly"] = sales
        if self.adhoc:
            return
        sold_no_f = U[is_s & ~has_f]
        kf = int(sold_no_f[0]) if sold_no_f.size else int(free[-1])
        self.fact_injections["fact_forecast_monthly"] = [
            [date, d.p_code[kf // nc], d.c_code[kf % nc], "-8"],  # rule 3
            [date, p0, "", "15"],  # rule 7: empty customer_code
        ]
        kp = int(free[len(free) // 2])
        self.fact_injections["post_invoice_deductions"] = [
            [d.c_code[kp % nc], d.p_code[kp // nc], date, "1.5000", "0.0100"],  # rule 3
        ]

    # ---- lookups
    def lookup_tables(self) -> dict:
        d, adhoc, inject = self.d, self.adhoc, self.inject
        nfy = LAST_FY - FIRST_FY + 1
        fys = np.array(self.fys)
        tables = {}
        # gross price and manufacturing cost: launch FY .. last FY
        pidx = np.repeat(np.arange(d.n_products), fys.size)
        fy = np.tile(fys, d.n_products)
        keep = fy >= d.p_launch_fy[pidx]
        pidx, fy = pidx[keep], fy[keep]
        price = d.price[pidx, fy - FIRST_FY]
        cost = d.cost[pidx, fy - FIRST_FY]
        bad_price = []
        price_keep = np.ones(pidx.size, dtype=bool)
        if inject:
            rows = self.p_fy_rows.reshape(-1, nfy)[:, 2021 - FIRST_FY].copy()
            r = int(np.flatnonzero(d.p_launch_fy == 2022)[0])
            p6 = int(np.flatnonzero(d.p_launch_fy == 2021)[0])
            rows[[r, p6]] = 0
            if rows.max() > 0:
                mprod = int(np.argmin(np.where(rows > 0, rows, np.iinfo(np.int64).max)))
                price_keep &= ~((pidx == mprod) & (fy == 2021))  # gap: missing price
            bad_price = [
                [d.p_code[r], "21", f"{d.price[r, -1] / 1.04:.4f}"],  # rule 5
                [d.p_code[p6], "2020", "12,50"],  # rule 6
            ]
        gp_key = "gross_price"
        tables[gp_key] = (_cols(gp_key, adhoc),
                          {"product_code": pc.take(self.pcodes, pa.array(pidx[price_keep])),
                           "fiscal_year": fy[price_keep], "gross_price": _units(price[price_keep])},
                          bad_price)
        tables["manufacturing_cost"] = (_cols("manufacturing_cost", adhoc),
                                        {"product_code": pc.take(self.pcodes, pa.array(pidx)),
                                         "cost_year": fy, "manufacturing_cost": _units(cost)}, [])
        # pre-invoice: every customer, every fiscal year
        cidx = np.repeat(np.arange(d.n_customers), fys.size)
        cfy = np.tile(fys, d.n_customers)
        pct = np.clip(d.c_pre[cidx] + d.c_pre_noise[cidx, cfy - FIRST_FY], 0.05, 0.31)
        pre_keep = np.ones(cidx.size, dtype=bool)
        bad_pre = []
        if inject:
            rows = self.c_fy_rows.reshape(-1, nfy)[:, 2020 - FIRST_FY].copy()
            rows[0] = 0
            if rows.max() > 0:
                mcust = int(np.argmin(np.where(rows > 0, rows, np.iinfo(np.int64).max)))
                pre_keep &= ~((cidx == mcust) & (cfy == 2020))  # gap: missing deduction
            bad_pre = [[d.c_code[0], "2016", "-0.0500"]]  # rule 3
        tables["pre_invoice_deductions"] = (
            _cols("pre_invoice_deductions", adhoc),
            {"customer_code": pc.take(self.ccodes, pa.array(cidx[pre_keep])),
             "fiscal_year": cfy[pre_keep], "pre_invoice_discount_pct": _units(pct[pre_keep])},
            bad_pre)
        if not adhoc:
            rng = np.random.default_rng([self.seed, _S_DIMS, 1])
            nm = len(d.market)
            region_base = {"APAC": 0.022, "EU": 0.027, "LATAM": 0.031, "NA": 0.016}
            base = np.array([region_base[r] for r in d.region]) + rng.normal(0, 0.003, nm)
            midx = np.repeat(np.arange(nm), fys.size)
            mfy = np.tile(fys, nm)
            freight = np.clip(base[midx] * 1.02 ** (mfy - FIRST_FY) + rng.normal(0, 0.0015, midx.size),
                              0.01, 0.04)
            other = np.clip(rng.uniform(0.0015, 0.005, nm)[midx] + rng.normal(0, 0.0004, midx.size),
                            0.001, 0.006)
            bad = [["Atlantis", "2021", "0.0250", "0.0030"]] if inject else []  # rule 4
            tables["freight_cost"] = (
                _cols("freight_cost", adhoc),
                {"market": [d.market[i] for i in midx], "fiscal_year": mfy,
                 "freight_pct": _units(freight), "other_cost_pct": _units(other)},
                bad)
        return tables


def _chunk_row(chunk: dict, i: int) -> dict:
    """Row i of a dimension chunk as {column: str}."""
    return {k: (v[i].as_py() if isinstance(v, pa.Array) else v[i]) for k, v in chunk.items()}

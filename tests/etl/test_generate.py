"""The sample-data generator: layouts, shape, determinism and injected errors."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from etl import schema  # noqa: E402
from etl.generate import INJECTED, INJECTED_ADHOC, generate  # noqa: E402

SMALL, LARGER = 0.01, 0.05


def read(folder: Path, stem: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{stem}.csv", dtype=str, keep_default_na=False)


def fiscal_year(dates: pd.Series) -> pd.Series:
    return (pd.to_datetime(dates, format="%Y-%m-%d") + pd.DateOffset(months=4)).dt.year


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("full")
    return out, generate(out, scale=SMALL, seed=7)


@pytest.fixture(scope="module")
def full_larger(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("full_larger")
    return out, generate(out, scale=LARGER, seed=7)


@pytest.fixture(scope="module")
def adhoc(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("adhoc")
    return out, generate(out, scale=LARGER, seed=7, layout="adhoc")


@pytest.fixture(scope="module")
def injected(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("injected")
    return out, generate(out, scale=SMALL, seed=7, inject_errors=True)


@pytest.fixture(scope="module")
def injected_adhoc(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("injected_adhoc")
    return out, generate(out, scale=SMALL, seed=7, layout="adhoc", inject_errors=True)


# ------------------------------------------------------------ determinism --
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path, fmt):
    a = generate(tmp_path / "a", scale=SMALL, seed=3, fmt=fmt)
    b = generate(tmp_path / "b", scale=SMALL, seed=3, fmt=fmt)
    c = generate(tmp_path / "c", scale=SMALL, seed=4, fmt=fmt)
    assert a == b
    for stem in a:
        name = f"{stem}.{fmt}"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / f"fact_sales_monthly.{fmt}").read_bytes() != (
        tmp_path / "c" / f"fact_sales_monthly.{fmt}"
    ).read_bytes()
    assert c["dim_product"] == 397


def test_progress_is_called_once_per_table(tmp_path):
    lines: list[str] = []
    counts = generate(tmp_path, scale=SMALL, progress=lines.append)
    assert len(lines) == len(counts) == 10
    assert any(line.startswith("fact_sales_monthly: ") and line.endswith(" rows") for line in lines)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, layout="wide")
    with pytest.raises(ValueError):
        generate(tmp_path, fmt="xlsx")


# ----------------------------------------------------------------- layouts --
def test_full_layout_writes_the_ten_tables_with_the_schema_columns(full):
    out, counts = full
    assert list(counts) == list(schema.FULL_LAYOUT)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in schema.FULL_LAYOUT)
    for table in schema.FULL_LAYOUT:
        expected = schema.TABLES[table].column_names
        if table == "dim_customer":
            expected = [c for c in expected if c not in ("sub_zone", "region")]
        if table == "fact_sales_monthly":
            expected = [c for c in expected if c != "fiscal_year"]
        df = read(out, table)
        assert list(df.columns) == expected, table
        assert len(df) == counts[table], table


def test_adhoc_layout_has_six_tables_geography_on_customers_and_fy2020_2021_only(adhoc):
    out, counts = adhoc
    assert list(counts) == list(schema.ADHOC_LAYOUT)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in schema.ADHOC_LAYOUT)
    cust = read(out, "dim_customer")
    assert list(cust.columns) == ["customer_code", "customer", "platform", "channel", "market",
                                  "sub_zone", "region"]
    assert set(cust.loc[cust.market == "USA", "region"]) == {"NA"}
    sales = read(out, "fact_sales_monthly")
    assert list(sales.columns) == ["date", "product_code", "customer_code", "sold_quantity", "fiscal_year"]
    assert sales.date.min() == "2019-09-01" and sales.date.max() == "2021-08-01"
    assert (fiscal_year(sales.date) == sales.fiscal_year.astype(int)).all()
    for stem, col in [("fact_gross_price", "fiscal_year"), ("fact_manufacturing_cost", "cost_year"),
                      ("fact_pre_invoice_deductions", "fiscal_year")]:
        df = read(out, stem)
        assert list(df.columns) == schema.TABLES[stem.removeprefix("fact_")].column_names
        assert set(df[col]) == {"2020", "2021"}, stem
    # ~970k rows at scale 1
    assert 0.8 * 970_000 * LARGER < counts["fact_sales_monthly"] < 1.2 * 970_000 * LARGER


def test_adhoc_rows_are_the_full_layout_rows_of_fy2020_2021(adhoc, full_larger):
    a = read(adhoc[0], "fact_sales_monthly").drop(columns="fiscal_year")
    f = read(full_larger[0], "fact_sales_monthly")
    f = f[(f.date >= "2019-09-01") & (f.date <= "2021-08-01")].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, f)


def test_parquet_types(tmp_path):
    generate(tmp_path, scale=SMALL, fmt="parquet")
    types = {t: {f.name: str(f.type) for f in pq.read_schema(tmp_path / f"{t}.parquet")}
             for t in schema.FULL_LAYOUT}
    assert types["fact_sales_monthly"] == {"date": "date32[day]", "product_code": "string",
                                           "customer_code": "string", "sold_quantity": "int64"}
    assert types["gross_price"] == {"product_code": "string", "fiscal_year": "int64", "gross_price": "double"}
    assert types["post_invoice_deductions"]["discounts_pct"] == "double"
    assert types["manufacturing_cost"]["cost_year"] == "int64"
    sales = pq.read_table(tmp_path / "fact_sales_monthly.parquet").to_pandas()
    csv_dir = tmp_path / "csv"
    generate(csv_dir, scale=SMALL, fmt="csv")
    again = read(csv_dir, "fact_sales_monthly")
    assert len(sales) == len(again)
    assert (sales.sold_quantity.astype(str).values == again.sold_quantity.values).all()


# ------------------------------------------------------------------- shape --
def test_geography(full):
    markets = read(full[0], "dim_market")
    assert len(markets) == 27 and markets.market.is_unique
    assert set(markets.region) == {"APAC", "EU", "LATAM", "NA"}
    assert set(markets.sub_zone) == {"India", "ROA", "ANZ", "NE", "SE", "LATAM", "NA"}
    assert markets.loc[markets.market.isin(["USA", "Canada"]), ["sub_zone", "region"]].eq("NA").all().all()


def test_dimensions(full):
    out = full[0]
    cust = read(out, "dim_customer")
    assert len(cust) == 209 and cust.customer_code.is_unique
    assert cust.customer_code.str.fullmatch(r"9\d{7}").all()
    assert set(cust.platform) == set(schema.PLATFORMS) and set(cust.channel) == set(schema.CHANNELS)
    assert (cust.channel == "Retailer").mean() > 0.6
    assert set(cust.market) == set(read(out, "dim_market").market)
    # the same name under two codes in one market, one with a trailing space
    stripped = cust.assign(name=cust.customer.str.strip())
    twins = stripped[stripped.duplicated(["market", "name"], keep=False)]
    assert (twins.customer != twins.name).any()
    prod = read(out, "dim_product")
    assert len(prod) == 397 and prod.product_code.is_unique
    assert prod.product_code.str.fullmatch(r"[A-Z]\d{10}").all()
    assert set(prod.division) == {"P & A", "PC", "N & S"}
    assert set(prod.segment) == {"Peripherals", "Accessories", "Notebook", "Desktop", "Storage", "Networking"}
    assert {"Mouse", "Gaming Laptop", "Wi fi extender", "External Solid State Drives"} <= set(prod.category)
    assert prod["product"].str.contains(",").any()  # quoted in the CSV
    assert prod.groupby("product").size().min() >= 2  # several variants each


def test_keys_are_unique(full):
    out = full[0]
    for table in schema.FULL_LAYOUT:
        df = read(out, table)
        assert not df.duplicated(list(schema.TABLES[table].key)).any(), table
        for col in schema.TABLES[table].key:
            assert (df[col] != "").all(), (table, col)


def test_references_resolve(full):
    out = full[0]
    products = set(read(out, "dim_product").product_code)
    customers = set(read(out, "dim_customer").customer_code)
    for table in schema.FACT_TABLES:
        df = read(out, table)
        assert set(df.product_code) <= products, table
        assert set(df.customer_code) <= customers, table
    assert set(read(out, "freight_cost").market) == set(read(out, "dim_market").market)


def test_dates_are_first_of_month_in_range(full):
    out = full[0]
    for table, last in [("fact_sales_monthly", "2021-12-01"), ("fact_forecast_monthly", "2022-08-01"),
                        ("post_invoice_deductions", "2022-08-01")]:
        dates = read(out, table).date
        assert dates.str.fullmatch(r"\d{4}-\d{2}-01").all(), table
        assert dates.min() == "2017-09-01" and dates.max() == last, table
    assert read(out, "fact_sales_monthly").date.nunique() == 52


def test_every_sales_key_has_a_post_invoice_row(full):
    out = full[0]
    key = ["date", "product_code", "customer_code"]
    post = read(out, "post_invoice_deductions")[key]
    sales = read(out, "fact_sales_monthly")[key]
    forecast = read(out, "fact_forecast_monthly")[key]
    assert len(sales.merge(post, on=key)) == len(sales)
    union = pd.concat([sales, forecast]).drop_duplicates()
    assert len(union) == len(post)


def test_forecasts_cover_most_sales_and_more(full_larger):
    out = full_larger[0]
    key = ["date", "product_code", "customer_code"]
    sales = read(out, "fact_sales_monthly")
    fc = read(out, "fact_forecast_monthly")
    j = sales.merge(fc, on=key, how="outer", indicator=True)
    j = j[j.date <= "2021-12-01"]
    assert 0.9 < (j._merge == "both").sum() / len(sales) < 0.99
    assert 0.1 < (j._merge == "right_only").sum() / len(sales) < 0.25
    s = j.sold_quantity.replace("", "0").fillna("0").astype(int)
    f = j.forecast_quantity.replace("", "0").fillna("0").astype(int)
    abs_error_pct = (f - s).abs().sum() / f.sum()
    assert 0.15 < abs_error_pct < 0.45


def test_lookups_cover_the_fiscal_years(full):
    out = full[0]
    sales = read(out, "fact_sales_monthly")
    sales["fy"] = fiscal_year(sales.date).astype(str)
    price = read(out, "gross_price")
    cost = read(out, "manufacturing_cost")
    assert set(price.fiscal_year) == {str(y) for y in range(2018, 2023)}
    # every product has a price from its launch year to 2022, and sells only from then
    first = price.groupby("product_code").fiscal_year.min().astype(int)
    span = price.groupby("product_code").fiscal_year.count()
    assert ((2022 - first + 1) == span).all()
    assert len(sales.merge(price, left_on=["product_code", "fy"], right_on=["product_code", "fiscal_year"])) \
        == len(sales)
    assert (price.product_code + price.fiscal_year).tolist() == (cost.product_code + cost.cost_year).tolist()
    ratio = cost.manufacturing_cost.astype(float) / price.gross_price.astype(float)
    assert ratio.between(0.15, 0.45).all()
    assert 1000 < len(price) < 1400
    pre = read(out, "pre_invoice_deductions")
    assert len(pre) == 209 * 5 and set(pre.fiscal_year) == {str(y) for y in range(2018, 2023)}
    assert pre.pre_invoice_discount_pct.astype(float).between(0.05, 0.31).all()
    freight = read(out, "freight_cost")
    assert len(freight) == 135
    assert freight.freight_pct.astype(float).between(0.01, 0.04).all()
    assert freight.other_cost_pct.astype(float).between(0.001, 0.006).all()
    post = read(out, "post_invoice_deductions")
    assert post.discounts_pct.astype(float).between(0.02, 0.15).all()
    assert post.other_deductions_pct.astype(float).between(0.001, 0.05).all()


def test_prices_are_plausible_per_category(full):
    out = full[0]
    price = read(out, "gross_price").merge(read(out, "dim_product"), on="product_code")
    price["p"] = price.gross_price.astype(float)
    by_cat = price.groupby("category").p
    assert by_cat.max()["Mouse"] < 30 and by_cat.min()["Mouse"] > 3
    assert by_cat.min()["Gaming Laptop"] > 200 and by_cat.max()["Business Laptop"] < 1000
    # drifting up year on year
    wide = price.pivot(index="product_code", columns="fiscal_year", values="p")
    both = wide[["2021", "2022"]].dropna()
    assert len(both) > 300 and (both["2022"] > both["2021"]).all()


def test_csv_number_format(full):
    out = full[0]
    raw = (out / "gross_price.csv").read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    assert read(out, "gross_price").gross_price.str.fullmatch(r"\d+\.\d{4}").all()
    post = (out / "post_invoice_deductions.csv").read_text()
    assert "e-" not in post and "E-" not in post
    assert read(out, "post_invoice_deductions").other_deductions_pct.str.fullmatch(r"0\.\d{4}").all()
    assert read(out, "fact_sales_monthly").sold_quantity.str.fullmatch(r"\d+").all()
    assert (out / "dim_product.csv").read_text().count('"') > 0  # names with commas are quoted


def test_sales_shape_growth_seasonality_and_zeros(full_larger):
    sales = read(full_larger[0], "fact_sales_monthly")
    sales["q"] = sales.sold_quantity.astype(int)
    sales["fy"] = fiscal_year(sales.date)
    rows = sales.groupby("fy").size()
    assert rows[2018] < rows[2019] < rows[2020] < rows[2021]
    month = sales.date.str[5:7]
    assert sales.q[month == "11"].mean() > sales.q[month == "10"].mean()
    by_month = sales.groupby("date").q.sum()
    assert by_month["2020-04-01"] < 0.8 * by_month["2020-02-01"]  # spring 2020 dip
    assert (sales.q == 0).any()
    assert 0.8 * 1_425_706 * LARGER < len(sales) < 1.2 * 1_425_706 * LARGER


def test_rows_scale_linearly(full, full_larger):
    small, larger = full[1], full_larger[1]
    for table in schema.FACT_TABLES:
        ratio = larger[table] / small[table]
        assert 4.0 <= ratio <= 6.0, (table, ratio)
    for table in ("dim_customer", "dim_product", "dim_market", "pre_invoice_deductions", "freight_cost"):
        assert larger[table] == small[table]


def test_customers_grow_above_scale_one(tmp_path):
    from etl.generate import _Dims

    d = _Dims(7, 2.0)
    assert d.n_customers == 418 and len(set(d.c_code)) == 418
    assert set(d.c_market.tolist()) == set(range(27))
    assert d.n_products == 397


# --------------------------------------------------------- injected errors --
def test_injected_rows_are_present_and_few(injected, full):
    out, counts = injected
    clean = full[1]
    added = {t: counts[t] - clean[t] for t in counts}
    assert added["dim_customer"] == 2 and added["dim_product"] == 1 and added["dim_market"] == 0
    assert added["fact_sales_monthly"] == 7
    assert added["fact_forecast_monthly"] == 2 and added["post_invoice_deductions"] == 1
    assert added["gross_price"] == 2 - 1  # two bad rows, one price removed
    assert added["pre_invoice_deductions"] == 1 - 1  # one bad row, one deduction removed
    assert added["freight_cost"] == 1 and added["manufacturing_cost"] == 0
    for table in counts:
        assert max(added[table], 0) <= max(0.01 * counts[table], 2), table

    sales = read(out, "fact_sales_monthly")
    for date in ("2020-13-01", "2020-03-15", "1899-09-01"):
        assert (sales.date == date).sum() == 1
    assert (sales.sold_quantity == "-5").sum() == 1
    assert (sales.customer_code == "99999999").sum() == 1
    assert (sales.product_code == "Z9999999999").sum() == 1
    assert (sales.product_code == "").sum() == 1
    fc = read(out, "fact_forecast_monthly")
    assert (fc.forecast_quantity == "-8").sum() == 1 and (fc.customer_code == "").sum() == 1
    post = read(out, "post_invoice_deductions")
    assert (post.discounts_pct == "1.5000").sum() == 1
    price = read(out, "gross_price")
    assert (price.gross_price == "12,50").sum() == 1 and (price.fiscal_year == "21").sum() == 1
    assert "\"12,50\"" in (out / "gross_price.csv").read_text()
    pre = read(out, "pre_invoice_deductions")
    assert pre[pre.fiscal_year == "2016"].pre_invoice_discount_pct.tolist() == ["-0.0500"]
    assert (read(out, "freight_cost").market == "Atlantis").sum() == 1
    cust = read(out, "dim_customer")
    assert cust.customer_code.duplicated().sum() == 1 and (cust.platform == "Online").sum() == 1
    assert read(out, "dim_product").product_code.duplicated().sum() == 1
    chile = read(out, "dim_market").set_index("market").loc["Chile"]
    assert chile.sub_zone == "" and chile.region == ""
    assert {t for t, _ in INJECTED} <= set(counts) and {r for _, r in INJECTED} == set(range(1, 10))


def test_injected_rows_do_not_collide_with_clean_keys(injected, full):
    out, clean_out = injected[0], full[0]
    key = ["date", "product_code", "customer_code"]
    for table in ("fact_sales_monthly", "fact_forecast_monthly", "post_invoice_deductions"):
        dirty, clean = read(out, table), read(clean_out, table)
        assert not dirty.duplicated(key).any(), table
        # the clean rows are unchanged, the bad ones appended at the end
        pd.testing.assert_frame_equal(dirty.iloc[: len(clean)], clean)
    sales, post = read(out, "fact_sales_monthly"), read(out, "post_invoice_deductions")
    negative = sales[sales.sold_quantity == "-5"][key]
    assert len(negative.merge(post[key], on=key)) == 1  # only the quantity is wrong
    for table in ("gross_price", "pre_invoice_deductions"):
        assert not read(out, table).duplicated(list(schema.TABLES[table].key)).any()


def test_injected_gaps(injected, full):
    out, clean_out = injected[0], full[0]
    price, clean_price = read(out, "gross_price"), read(clean_out, "gross_price")
    gone = clean_price.merge(price, how="left", indicator=True)
    gone = gone[gone._merge == "left_only"]
    assert gone.fiscal_year.tolist() == ["2021"]
    sales = read(clean_out, "fact_sales_monthly")
    sales["fy"] = fiscal_year(sales.date).astype(str)
    assert ((sales.product_code == gone.product_code.iloc[0]) & (sales.fy == "2021")).any()
    pre, clean_pre = read(out, "pre_invoice_deductions"), read(clean_out, "pre_invoice_deductions")
    gone = clean_pre.merge(pre, how="left", indicator=True)
    gone = gone[gone._merge == "left_only"]
    assert gone.fiscal_year.tolist() == ["2020"]
    assert ((sales.customer_code == gone.customer_code.iloc[0]) & (sales.fy == "2020")).any()


def test_injected_adhoc(injected_adhoc):
    out, counts = injected_adhoc
    assert list(counts) == list(schema.ADHOC_LAYOUT)
    sales = read(out, "fact_sales_monthly")
    assert {"2020-13-01", "2020-03-15", "1899-09-01"} <= set(sales.date)
    ok = sales.date.str.fullmatch(r"\d{4}-\d{2}-01") & (sales.date != "2020-13-01") \
        & (sales.date > "1900-01-01")
    mismatch = ok & (fiscal_year(sales.date.where(ok, "2020-01-01")).astype(str) != sales.fiscal_year)
    assert mismatch.sum() == 1
    assert (read(out, "fact_gross_price").gross_price == "12,50").sum() == 1
    cust = read(out, "dim_customer")
    assert (cust.platform == "Online").sum() == 1
    assert (cust[cust.market == "Chile"].region == "").all()
    assert ("fact_sales_monthly", 5) in INJECTED_ADHOC


def test_injected_parquet_is_all_strings(tmp_path):
    generate(tmp_path, scale=SMALL, fmt="parquet", inject_errors=True)
    for table in schema.FULL_LAYOUT:
        types = {str(f.type) for f in pq.read_schema(tmp_path / f"{table}.parquet")}
        assert types == {"string"}, table
    price = pq.read_table(tmp_path / "gross_price.parquet").to_pandas()
    assert "12,50" in set(price.gross_price) and "21" in set(price.fiscal_year)
    sales = pq.read_table(tmp_path / "fact_sales_monthly.parquet").to_pandas()
    assert "2020-13-01" in set(sales.date) and sales.date.iloc[0] == "2017-09-01"

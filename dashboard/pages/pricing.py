"""Pricing: gross-to-net waterfall, gross price trends, deductions by customer
and the average gross price per product."""
import dash

from dashboard import components as c

PAGE = "pricing"
dash.register_page(__name__, path="/pricing", name="Pricing", title="BIMS · Pricing", order=3, icon="tags")


def layout(**query):
    return c.page(PAGE, "Pricing", query, body)


def body(page_state: dict):
    per = "product of the category" if page_state["filters"].get("category") else "category"
    return c.grid(
        [(c.chart_card(PAGE, "waterfall", "Gross to net", "From gross sales through pre- and post-invoice "
                       "deductions to net sales", 400), 6),
         (c.chart_card(PAGE, "price_trend", "Gross price trend", f"Average gross (list) price per {per} by "
                       "fiscal year; the chosen year is shaded", 400), 6)],
        [(c.chart_card(PAGE, "deductions", "Deductions by customer", "The 15 customers with the largest "
                       "pre- and post-invoice deductions", 460), 6),
         (c.table_card(PAGE, "avg_price", "Average gross price per product", "Over its variants, against "
                       "last year", 460), 6)],
        [(c.table_card(PAGE, "deductions_table", "Deductions and discounts per customer", "Every customer, "
                       "largest total deductions first", 420), 12)],
    )

"""Every callback of the dashboard; importing this package registers them."""
from dashboard.callbacks import cards, shell  # noqa: F401
from dashboard.callbacks import overview, sales, top_n, data_status, demand, pricing, costs, users  # noqa: F401

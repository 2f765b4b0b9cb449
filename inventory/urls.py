"""URLs of the inventory staff screens; the API's are in inventory/api.py."""

from django.urls import path

from inventory import views

app_name = "inventory"

# Staff screens, included at the site root under the "inventory" namespace. Each takes the store
# as `?store=CODE` (the user's default store without it).
urlpatterns: list = [
    path("store/stock/", views.StockLookupView.as_view(), name="stock-lookup"),
    path("store/stock/low/", views.LowStockView.as_view(), name="low-stock"),
    path("store/stock/receive/", views.StockReceiveView.as_view(), name="stock-receive"),
    path("store/stock/adjust/", views.StockAdjustView.as_view(), name="stock-adjust"),
    path("store/stock/count/", views.StockCountView.as_view(), name="stock-count"),
    path("store/stock/transfers/", views.TransferListView.as_view(), name="transfers"),
    path("store/stock/transfers/new/", views.TransferShipView.as_view(), name="transfer-ship"),
    path(
        "store/stock/transfers/<int:pk>/receive/",
        views.TransferReceiveView.as_view(),
        name="transfer-receive",
    ),
    path("store/stock/shortages/", views.ShortageListView.as_view(), name="shortages"),
    path(
        "store/stock/shortages/<int:pk>/reallocate/",
        views.ShortageReallocateView.as_view(),
        name="shortage-reallocate",
    ),
    path(
        "store/stock/shortages/<int:pk>/cancel/",
        views.ShortageCancelView.as_view(),
        name="shortage-cancel",
    ),
]

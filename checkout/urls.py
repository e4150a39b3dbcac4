"""The hosted checkout pages. The API builds a session's ``url`` as ``{PUBLIC_BASE_URL}/pay/{token}``."""

from django.urls import path

from . import invoice_views, views

app_name = "checkout"
urlpatterns = [
    path("pay/invoice/<str:token>", invoice_views.invoice_page, name="invoice"),
    path("pay/invoice/<str:token>/return", invoice_views.invoice_return, name="invoice-return"),
    path("pay/<str:token>", views.checkout_page, name="page"),
    path("pay/<str:token>/cancel", views.checkout_cancel, name="cancel"),
    path("pay/<str:token>/recover", views.checkout_recover, name="recover"),
    path("pay/<str:token>/promotion-code", views.checkout_promotion_code, name="promotion-code"),
    path("pay/<str:token>/adjust", views.checkout_adjust, name="adjust"),
    path("pay/<str:token>/return", views.checkout_return, name="return"),
    path("pay/<str:token>/setup-intent", views.checkout_setup_intent, name="setup-intent"),
    path("pay/<str:token>/invoice.pdf", views.checkout_invoice_pdf, name="invoice-pdf"),
    path("stripe/webhooks/<str:settings_id>", views.stripe_webhook, name="stripe-webhook"),
]

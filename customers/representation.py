"""The customer as the API shows it (``expand[]=customer`` on a checkout session), built by hand
like ``checkout.representation`` and ``billing.representation``."""

from core.wire import datetime_text, id_text


def customer_json(customer) -> dict:
    return {
        "id": str(customer.id),
        "object": "customer",
        "organization_id": str(customer.organization_id),
        "business_entity_id": id_text(customer.business_entity_id),
        "customer_name": customer.customer_name,
        "email": customer.email,
        "phone_number": customer.phone_number,
        "external_id": customer.external_id,
        "address": customer.address or None,
        "ship_to_address": customer.ship_to_address or None,
        "tax_info": customer.tax_info or [],
        "custom_data": customer.custom_data or {},
        "created_at": datetime_text(customer.created_at),
    }

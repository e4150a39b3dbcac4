"""Customer domain errors, each with a stable code."""

from core.errors import DomainError


class CustomerEmailTaken(DomainError):
    code = "customer_email_taken"
    message = "A customer with this email already exists."


class CustomerDetailsInvalid(DomainError):
    code = "customer_details_invalid"
    message = "The customer's details are incomplete."

from django.contrib import admin

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["customer_name", "email", "external_id", "organization", "created_at"]
    list_filter = ["organization", "created_at"]
    search_fields = ["customer_name", "email", "external_id", "=id"]
    list_select_related = ["organization"]
    raw_id_fields = ["business_entity"]
    readonly_fields = ["id", "created_at", "updated_at"]

"""Canonical column names and status values of the orders and customers tables.

Every module refers to these constants instead of spelling the names, so one place
defines the schema (see ``docs/architecture.md``).
"""

from __future__ import annotations

from typing import Final

# --- orders: one row per order line (or per order) ---------------------------------
ORDER_ID: Final = "order_id"
CUSTOMER_ID: Final = "customer_id"
ORDER_TIME: Final = "order_time"
AMOUNT: Final = "amount"
STATUS: Final = "status"
REFUND_AMOUNT: Final = "refund_amount"
PAID_TIME: Final = "paid_time"
PRODUCT_ID: Final = "product_id"
PRODUCT_NAME: Final = "product_name"
CATEGORY: Final = "category"
QUANTITY: Final = "quantity"
UNIT_PRICE: Final = "unit_price"
CHANNEL: Final = "channel"

#: Required columns of canonical orders, in output order.
ORDER_REQUIRED: Final = (ORDER_ID, CUSTOMER_ID, ORDER_TIME, AMOUNT, STATUS)
#: Optional columns of canonical orders, in output order.
ORDER_OPTIONAL: Final = (
    REFUND_AMOUNT,
    PAID_TIME,
    PRODUCT_ID,
    PRODUCT_NAME,
    CATEGORY,
    QUANTITY,
    UNIT_PRICE,
    CHANNEL,
)
ORDER_COLUMNS: Final = ORDER_REQUIRED + ORDER_OPTIONAL

# --- status values -----------------------------------------------------------------
PAID: Final = "paid"
UNPAID: Final = "unpaid"
CANCELLED: Final = "cancelled"
REFUNDED: Final = "refunded"
STATUSES: Final = (PAID, UNPAID, CANCELLED, REFUNDED)
#: The status of rows that count as purchases (valued at amount - refund_amount).
PURCHASE_STATUS: Final = PAID

# --- customers: one row per customer -----------------------------------------------
NAME: Final = "name"
FIRST_NAME: Final = "first_name"
LAST_NAME: Final = "last_name"
GENDER: Final = "gender"
BIRTHDAY: Final = "birthday"
AGE: Final = "age"
COUNTRY: Final = "country"
REGION: Final = "region"
CITY: Final = "city"
MEMBER_LEVEL: Final = "member_level"
POINTS: Final = "points"
SIGNUP_TIME: Final = "signup_time"
UPDATED_TIME: Final = "updated_time"
TAGS: Final = "tags"
EMAIL: Final = "email"
PHONE: Final = "phone"
ACCEPTS_MARKETING: Final = "accepts_marketing"

CUSTOMER_REQUIRED: Final = (CUSTOMER_ID,)
CUSTOMER_OPTIONAL: Final = (
    NAME,
    FIRST_NAME,
    LAST_NAME,
    GENDER,
    BIRTHDAY,
    AGE,
    COUNTRY,
    REGION,
    CITY,
    MEMBER_LEVEL,
    POINTS,
    SIGNUP_TIME,
    UPDATED_TIME,
    TAGS,
    EMAIL,
    PHONE,
    ACCEPTS_MARKETING,
)
CUSTOMER_COLUMNS: Final = CUSTOMER_REQUIRED + CUSTOMER_OPTIONAL
#: Canonical customer columns that identify a person; dropped by ``pseudonymize=``.
PERSONAL_COLUMNS: Final = (NAME, FIRST_NAME, LAST_NAME, EMAIL, PHONE)
GENDERS: Final = ("female", "male", "unknown")

# --- customer summary (output of ``customer_summary``) -------------------------------
SUMMARY_COLUMNS: Final = (
    "first_purchase",
    "last_purchase",
    "n_orders",
    "n_items",
    "monetary_total",
    "avg_order_value",
    "days_since_last",
    "frequency",
    "recency",
    "T",
    "monetary_value",
)

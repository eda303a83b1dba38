from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "covax.accounts"
    label = "accounts"
    verbose_name = "Users and roles"

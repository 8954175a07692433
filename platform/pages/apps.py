from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "pages"
    verbose_name = "Browser dashboard: server-rendered pages over the domain services"

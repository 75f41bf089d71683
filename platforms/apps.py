from django.apps import AppConfig


class PlatformsConfig(AppConfig):
    name = "platforms"
    verbose_name = "Platforms"

    def ready(self) -> None:
        # Registers the system checks (platforms.E0xx / W0xx).
        from platforms import checks  # noqa: F401

from django.apps import AppConfig


class PlatformsConfig(AppConfig):
    name = "platforms"
    verbose_name = "Platforms"

    def ready(self) -> None:
        # Registers the system checks (platforms.E0xx / W0xx).
        from platforms import checks  # noqa: F401
        from platforms.signals import notify_quota_exceeded, record_quota_exceeded

        # A spent quota becomes an ErrorLog row: the staff Errors page and
        # the admin show it.
        notify_quota_exceeded.connect(
            record_quota_exceeded, dispatch_uid="platforms.record_quota_exceeded"
        )

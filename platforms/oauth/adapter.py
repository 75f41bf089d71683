"""`SOCIALACCOUNT_ADAPTER`: allauth social logins only ever *connect*.

Creators sign in with email and password; TikTok, Google and Facebook logins
are used only through allauth's `process=connect` to add platform accounts
to the signed-in creator. Every way the flow can fail ends on allauth's
authentication error page with an explanation and a way back, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthError, AuthProcess, Provider
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.signals import social_account_added
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from requests import RequestException

from platforms.logging import redact
from platforms.models import ConnectedAccount
from platforms.oauth.connect import connect_from_login, saved_accounts
from platforms.oauth.discovery import ConnectError
from platforms.oauth.replies import ProfileError

logger = logging.getLogger(__name__)

ERROR_TEMPLATE = "socialaccount/authentication_error.html"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        provider = sociallogin.provider
        if sociallogin.state.get("process") != AuthProcess.CONNECT:
            raise ImmediateHttpResponse(
                _problem_page(
                    request,
                    provider,
                    f"Signing in with {provider.name} is not offered. Log in with "
                    "your email and password, then connect your accounts from "
                    "the Connections page.",
                )
            )
        if not request.user.is_authenticated:
            return  # allauth sends the visitor to log in first
        if sociallogin.is_existing and sociallogin.user != request.user:
            return  # allauth refuses: connected to another socialmetrics user
        try:
            connect_from_login(owner=request.user, sociallogin=sociallogin)
        except ConnectError as exc:
            logger.info("Connecting %s stopped: %s", provider.id, exc.message)
            raise ImmediateHttpResponse(
                _problem_page(request, provider, exc.message)
            ) from exc

    def is_open_for_signup(
        self, request: HttpRequest, sociallogin: SocialLogin
    ) -> bool:
        return False

    def get_connect_redirect_url(self, request: HttpRequest, socialaccount: Any) -> str:
        return reverse("dashboard:connections")

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Provider,
        error: str | None = None,
        exception: BaseException | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        """Log the failure and put a plain explanation in the page context."""
        logger.warning(
            "Connecting %s failed: %s %s",
            provider.id,
            error,
            redact(repr(exception)) if exception else "",
        )
        if extra_context is not None:
            # allauth renders its error template with this very dict.
            extra_context["problem"] = explain_error(request, error, exception)


def explain_error(
    request: HttpRequest, error: str | None, exception: BaseException | None
) -> str:
    """What went wrong, in words a creator can act on."""
    if error == AuthError.CANCELLED:
        return "You declined the request, so nothing was connected."
    platform_error = request.GET.get("error")
    if platform_error:
        detail = request.GET.get("error_description") or platform_error
        return f"The platform refused the request: {detail}."
    if exception is None:
        # allauth found no matching state in this browser session.
        return (
            "This sign-in link has expired or was already used, for example "
            "after going back in the browser or reloading the page. Nothing "
            "was changed. Start again from the Connections page."
        )
    if isinstance(exception, ProfileError):
        return str(exception)
    if isinstance(exception, OAuth2Error):
        return (
            "The platform did not accept the authorization (it may have expired "
            "or been used already). Nothing was changed; please connect again."
        )
    if isinstance(exception, RequestException):
        return "The platform could not be reached. Nothing was changed; try again."
    return "Something went wrong while connecting. Nothing was changed."


@receiver(social_account_added)
def link_social_account(
    sender: Any, request: HttpRequest, sociallogin: SocialLogin, **kwargs: Any
) -> None:
    """Point the accounts just connected at the SocialAccount allauth saved.

    On a first connect `pre_social_login` runs before allauth saves the
    SocialAccount. This module is imported (as the adapter) before any
    social login completes, so the receiver is always connected in time.
    """
    ids = [saved.account.pk for saved in saved_accounts(sociallogin)]
    if ids:
        ConnectedAccount.objects.filter(pk__in=ids).update(
            social_account=sociallogin.account
        )


def _problem_page(
    request: HttpRequest, provider: Provider, problem: str
) -> HttpResponse:
    return render(
        request,
        ERROR_TEMPLATE,
        {
            "auth_error": {"provider": provider, "code": AuthError.UNKNOWN},
            "problem": problem,
        },
        status=400,
    )

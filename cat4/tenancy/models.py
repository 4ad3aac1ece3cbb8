"""Users, organisations (tenants) and who belongs to which, in which role.

Every tenant-owned table derives from ``TenantModel``: it carries
``organization_id`` and its default manager is scoped (django-scopes), so a
query made outside ``scope(organization=...)`` raises instead of leaking rows
of every tenant. Code that really must work across tenants (admin, management
commands, cross-org housekeeping) says so with ``scopes_disabled()``.
"""

import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_scopes import ScopedManager

CURRENCIES = [
    ("EUR", "EUR – Euro"),
    ("USD", "USD – US dollar"),
    ("GBP", "GBP – Pound sterling"),
    ("CHF", "CHF – Swiss franc"),
    ("SEK", "SEK – Swedish krona"),
    ("NOK", "NOK – Norwegian krone"),
    ("DKK", "DKK – Danish krone"),
    ("PLN", "PLN – Polish złoty"),
    ("CZK", "CZK – Czech koruna"),
    ("CAD", "CAD – Canadian dollar"),
    ("AUD", "AUD – Australian dollar"),
    ("JPY", "JPY – Japanese yen"),
    ("CNY", "CNY – Chinese yuan"),
    ("INR", "INR – Indian rupee"),
    ("SGD", "SGD – Singapore dollar"),
    ("BRL", "BRL – Brazilian real"),
    ("ZAR", "ZAR – South African rand"),
]

MONTHS = [
    (1, "January"), (2, "February"), (3, "March"), (4, "April"), (5, "May"), (6, "June"),
    (7, "July"), (8, "August"), (9, "September"), (10, "October"), (11, "November"),
    (12, "December"),
]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("%(value)s is not a known time zone (use e.g. Europe/Berlin).",
                              params={"value": value})


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    EXECUTIVE = "executive", "Executive"
    CONTROLLER = "controller", "Controller"
    OWNER = "owner", "Owner"
    VIEWER = "viewer", "Viewer"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in with their email address; may belong to several orgs."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="May log in to the Django admin (platform operators only)."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="tenancy_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Organization(models.Model):
    """A tenant: one client of a consulting firm, or one company."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True,
                            help_text="Appears in every URL of the organisation: /o/<slug>/.")
    base_currency = models.CharField(max_length=3, choices=CURRENCIES, default="EUR")
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        choices=MONTHS, default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    time_zone = models.CharField(max_length=64, default="Europe/Berlin",
                                 validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fiscal_year_start_month__gte=1)
                & models.Q(fiscal_year_start_month__lte=12),
                name="tenancy_org_fiscal_month_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The organisation's time zone: its pages, dates and jobs run in it."""
        return zoneinfo.ZoneInfo(self.time_zone)


class TenantModel(models.Model):
    """Base of every tenant-owned table: an organization column and a fail-closed manager."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    objects = ScopedManager(organization="organization")

    class Meta:
        abstract = True


class Membership(TenantModel):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization__name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"],
                                    name="tenancy_membership_unique"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values),
                                   name="tenancy_membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} in {self.organization}"


class Invitation(TenantModel):
    """An emailed invitation to join an organisation in a role.

    Only a hash of the token is stored; the token itself exists in the email.
    """

    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="tenancy_invitation_one_pending_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization}"

    @property
    def is_pending(self) -> bool:
        return (self.accepted_at is None and self.revoked_at is None
                and self.expires_at > timezone.now())


class MembershipEvent(TenantModel):
    """Who changed which membership, when: invitations, joins, role changes, removals.

    Written by the tenancy services only, never updated or deleted.
    """

    class Action(models.TextChoices):
        INVITED = "invited", "Invited"
        INVITATION_REVOKED = "invitation_revoked", "Invitation revoked"
        INVITATION_LAPSED = "invitation_lapsed", "Invitation lapsed"
        JOINED = "joined", "Joined"
        ROLE_CHANGED = "role_changed", "Role changed"
        REMOVED = "removed", "Removed"

    action = models.CharField(max_length=30, choices=Action.choices)
    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    subject_email = models.EmailField()
    subject_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    old_role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    new_role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.subject_email}"

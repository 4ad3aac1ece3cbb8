"""Optimistic concurrency on initiative details: a stale version writes nothing,
the edit page keeps the user's input and lets them save again, and two
simultaneous saves of the same version never both succeed."""


import pytest
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from initiatives import services
from initiatives.models import Initiative
from tests.conftest import client_for
from tests.initiatives.support import input_value, org_url, page_text, race


def current(initiative_id) -> Initiative:
    with scopes_disabled():
        return Initiative.objects.get(pk=initiative_id)


@pytest.mark.django_db
def test_stale_version_raises_412_and_writes_nothing(world):
    i = world.initiative
    services.initiative_update(membership=world.a[Role.ADMIN].membership, initiative_id=i.pk,
                               version=1, title="Saved first")
    with pytest.raises(services.StaleVersionError) as exc:
        services.initiative_update(membership=world.a[Role.OWNER].membership,
                                   initiative_id=i.pk, version=1, title="Saved second",
                                   code="AC-999")
    assert exc.value.status_code == 412
    assert "Someone else changed this initiative" in exc.value.message
    saved = current(i.pk)
    assert (saved.title, saved.code, saved.version) == ("Saved first", "AC-100", 2)


@pytest.mark.django_db
def test_a_version_from_the_future_is_stale_too(world):
    with pytest.raises(services.StaleVersionError):
        services.initiative_update(membership=world.a[Role.OWNER].membership,
                                   initiative_id=world.initiative.pk, version=2, title="x")
    assert current(world.initiative.pk).version == 1


@pytest.mark.django_db
def test_every_save_bumps_the_version(world):
    owner = world.a[Role.OWNER].membership
    for version in (1, 2, 3):
        updated = services.initiative_update(membership=owner,
                                             initiative_id=world.initiative.pk,
                                             version=version, title=f"Title {version}")
        assert updated.version == version + 1


def _edit_form(world, **overrides) -> dict:
    i = world.initiative
    data = {"code": i.code, "title": i.title, "description": "",
            "program": str(i.program_id), "owner": str(i.owner_id),
            "sponsor": str(i.sponsor_id), "controller": str(i.controller_id),
            "start_date": "2026-01-01", "target_date": "2027-12-31"}
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_edit_page_with_a_stale_version_keeps_input_and_lets_the_user_save_again(world):
    i = world.initiative
    url = org_url("initiative_edit", initiative_id=i.pk)
    client = client_for(world.a[Role.OWNER].user)
    opened = client.get(url)
    assert opened.status_code == 200
    assert input_value(opened, "version") == "1"

    # Meanwhile an admin saves.
    services.initiative_update(membership=world.a[Role.ADMIN].membership, initiative_id=i.pk,
                               version=1, description="Admin's note")

    mine = _edit_form(world, title="Owner's better title", version="1")
    response = client.post(url, mine)
    assert response.status_code == 409
    body = page_text(response)
    assert "Someone else changed this initiative since you opened it." in body
    assert "Your input is kept below" in body
    assert input_value(response, "title") == "Owner's better title"
    assert input_value(response, "version") == "2"  # the version to save against now
    saved = current(i.pk)
    assert (saved.title, saved.description, saved.version) == (
        "Acme freight tender", "Admin's note", 2)

    # Resubmitting what the page now holds (the new version) succeeds.
    again = client.post(url, {**mine, "version": input_value(response, "version")})
    assert again.status_code == 302
    saved = current(i.pk)
    assert (saved.title, saved.version) == ("Owner's better title", 3)


@pytest.mark.django_db
def test_edit_page_without_a_version_is_refused_as_stale(world):
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("initiative_edit", initiative_id=world.initiative.pk),
        _edit_form(world, title="No version"))
    assert response.status_code == 409
    assert current(world.initiative.pk).title == "Acme freight tender"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_saves_of_the_same_version_one_wins(world):
    initiative_id = world.initiative.pk
    winners, losers = race(
        lambda membership, n: services.initiative_update(
            membership=membership, initiative_id=initiative_id, version=1,
            title=f"Title from thread {n}"),
        [world.a[Role.OWNER].membership.pk, world.a[Role.ADMIN].membership.pk])
    assert len(winners) == 1, (winners, losers)
    assert len(losers) == 1 and isinstance(losers[0], services.StaleVersionError), losers
    saved = current(initiative_id)
    assert (saved.title, saved.version) == (f"Title from thread {winners[0]}", 2)

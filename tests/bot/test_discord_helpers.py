"""The interaction fakes behave like discord.py and Discord where tests would notice."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands

from tests.fakes.discord_helpers import (
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    dispatch,
    fill_modal,
    find_button,
    make_interaction,
    press,
)


async def test_response_once_then_followups() -> None:
    inter = make_interaction(client=None)
    assert not inter.response.is_done()
    with pytest.raises(AssertionError, match=r"followup\.send before responding"):
        await inter.followup.send("too early")
    await inter.response.defer(ephemeral=True, thinking=True)
    assert inter.response.is_done()
    with pytest.raises(discord.InteractionResponded):
        await inter.response.send_message("again")
    msg = await inter.followup.send("done", ephemeral=True)
    assert msg.content == "done" and [m.kind for m in inter.messages] == ["followup"]


async def test_discord_limits_are_enforced() -> None:
    inter = make_interaction(client=None)
    with pytest.raises(TypeError):
        await inter.response.send_message(embed=discord.Embed(), embeds=[discord.Embed()])
    with pytest.raises(AssertionError, match="2000"):
        await inter.response.send_message("x" * 2001)
    bad = discord.Embed(title="t").add_field(name="n", value="v" * 1025)
    with pytest.raises(AssertionError, match="1024"):
        await inter.response.send_message(embed=bad)
    with pytest.raises(AssertionError, match="empty"):
        await inter.response.send_message()
    assert not inter.response.is_done()


async def test_closed_dms_raise_forbidden_50007() -> None:
    user = FakeUser(name="bob", dms_closed=True)
    with pytest.raises(discord.Forbidden) as exc:
        await user.send("you lost 2%")
    assert exc.value.status == 403 and exc.value.code == 50007


def test_member_permissions_follow_roles_and_ownership() -> None:
    guild = FakeGuild(owner_id=1)
    coach = FakeRole(2, "Coach", discord.Permissions(manage_guild=True))
    owner = FakeMember(1, "owner", guild=guild)
    cora = FakeMember(3, "cora", guild=guild, roles=[coach])
    ann = FakeMember(4, "ann", guild=guild)
    assert owner.guild_permissions.manage_guild
    assert cora.guild_permissions.manage_guild
    assert not ann.guild_permissions.manage_guild
    assert make_interaction(client=None, user=cora, guild=guild).permissions.manage_guild
    assert guild.get_member(4) is ann


async def test_modal_and_buttons() -> None:
    class Reason(discord.ui.Modal, title="Override reason"):
        why: discord.ui.Label[discord.ui.Modal] = discord.ui.Label(
            text="Why", component=discord.ui.TextInput(custom_id="reason", max_length=20)
        )

    pressed: list[int] = []

    class Confirm(discord.ui.View):

        @discord.ui.button(label="Accept")
        async def accept(self, interaction: discord.Interaction,
                         button: discord.ui.Button[Confirm]) -> None:
            pressed.append(interaction.user.id)
            await interaction.response.edit_message(content="accepted", view=None)

    inter = make_interaction(client=None)
    modal = Reason()
    await inter.response.send_modal(modal)
    assert inter.response.modal is modal
    with pytest.raises(AssertionError, match="longer than 20"):
        fill_modal(modal, {"Why": "x" * 21})
    fill_modal(modal, {"Why": "A+ setup"})
    text_input = modal.why.component
    assert isinstance(text_input, discord.ui.TextInput) and text_input.value == "A+ setup"
    fill_modal(modal, {"reason": "by custom id"})
    assert text_input.value == "by custom id"

    view = Confirm()
    press = make_interaction(client=None, type=discord.InteractionType.component)
    await find_button(view, "Accept").callback(press)  # type: ignore[arg-type]
    assert pressed == [press.user.id]
    assert press.response.sent is not None and press.response.sent.content == "accepted"
    with pytest.raises(AssertionError, match="no button 'Nope'"):
        find_button(view, "Nope")


class _Upper(app_commands.Transformer):
    async def transform(self, interaction: discord.Interaction, value: str) -> str:
        return value.upper()


async def test_dispatch_runs_discord_py_transformers_and_error_handlers() -> None:
    """`dispatch` (shared with every cog test) parses options like the CommandTree does."""
    seen: list[str] = []
    errors: list[str] = []

    @app_commands.command(name="score")
    @app_commands.check(lambda interaction: interaction.user.id == 1)
    async def score(interaction: discord.Interaction,
                    symbol: app_commands.Transform[str, _Upper]) -> None:
        seen.append(symbol)

    @score.error
    async def on_error(interaction: discord.Interaction,
                       error: app_commands.AppCommandError) -> None:
        errors.append(type(error).__name__)

    await dispatch(score, make_interaction(client=None, user=FakeUser(id=1)), symbol="eurusd")
    await dispatch(score, make_interaction(client=None, user=FakeUser(id=2)), symbol="gbpusd")
    assert seen == ["EURUSD"] and errors == ["CheckFailure"]


async def test_press_runs_the_views_interaction_check_first() -> None:
    owner, other = FakeUser(id=1, name="ann"), FakeUser(id=2, name="bob")
    pressed: list[int] = []

    class Only(discord.ui.View):
        async def interaction_check(self, interaction: discord.Interaction) -> bool:
            return interaction.user.id == owner.id

        @discord.ui.button(label="Go")
        async def go(self, interaction: discord.Interaction,
                     button: discord.ui.Button[Only]) -> None:
            pressed.append(interaction.user.id)

    view = Only()
    assert await press(view, "Go", make_interaction(client=None, user=other)) is False
    assert await press(view, "Go", make_interaction(client=None, user=owner)) is True
    assert pressed == [1]


def test_fake_mt5_type_checks() -> None:
    """The fake MetaTrader5 module is type-checked like the code it stands in for."""
    from pathlib import Path

    from mypy import api

    root = Path(__file__).resolve().parents[2]
    out, err, status = api.run([str(root / "tests/fakes/fake_mt5.py"), "--no-incremental"])
    assert status == 0, out + err

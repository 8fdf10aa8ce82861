"""Faithful fakes of discord.py objects for calling cog callbacks directly.

They mirror discord.py 2.7's attribute and method names and keyword-only signatures
(``interaction.user``, ``.guild``, ``.channel``, ``.client``, ``.permissions``,
``.response.send_message(content=, embed=, embeds=, view=, ephemeral=, file=, files=)``,
``.response.send_modal``, ``.response.defer``, ``.response.edit_message``,
``.response.is_done()``, ``.followup.send``, ``.edit_original_response``), and
behave like the real ones where tests would notice: a second response raises
:class:`discord.InteractionResponded`, ``embed`` together with ``embeds`` is a
``TypeError``, and anything Discord itself would reject with a 400 (content over 2000
characters, more than 10 embeds, an embed over its limits, an ephemeral modal ...)
fails the test with an ``AssertionError`` naming the limit.

Real discord.py value objects are used wherever they work offline:
:class:`discord.Embed`, :class:`discord.Permissions`, :class:`discord.ui.View`,
:class:`discord.ui.Modal`, :class:`discord.File`.

Usage::

    bot = PulseBot(config)                 # offline: no login needed
    await bot.load_extension("cogs.help")
    cog = bot.get_cog("Help")
    inter = make_interaction(client=bot, user=FakeMember(...))
    await cog.help.callback(cog, inter)    # the app command's callback
    msg = inter.response.sent              # SentMessage(content, embeds, ephemeral, view ...)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import discord
from discord import app_commands
from discord.utils import MISSING

_ids = itertools.count(1)
_BASE = 1_400_000_000_000_000_000


#: What @everyone can do on a typical server (no Manage Server, no Administrator).
MEMBER_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, embed_links=True, attach_files=True,
    read_message_history=True, use_application_commands=True,
)


def snowflake() -> int:
    return _BASE + next(_ids)


# Discord's limits (https://discord.com/developers/docs/resources/message, .../embed).
MAX_CONTENT = 2000
MAX_EMBEDS = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_AUTHOR = 256
EMBED_TOTAL = 6000
MAX_COMPONENT_ROWS = 5


def check_embed(embed: discord.Embed) -> None:
    """Fail like Discord's 400 would when an embed exceeds a limit."""
    total = 0
    if embed.title:
        assert len(embed.title) <= EMBED_TITLE, f"embed title > {EMBED_TITLE} chars"
        total += len(embed.title)
    if embed.description:
        assert len(embed.description) <= EMBED_DESCRIPTION, (
            f"embed description > {EMBED_DESCRIPTION} chars"
        )
        total += len(embed.description)
    assert len(embed.fields) <= EMBED_FIELDS, f"embed has > {EMBED_FIELDS} fields"
    for f in embed.fields:
        name, value = str(f.name or ""), str(f.value or "")
        assert name.strip(), "embed field name is empty (Discord rejects it)"
        assert value.strip(), f"embed field {name!r} has an empty value (Discord rejects it)"
        assert len(name) <= EMBED_FIELD_NAME, f"embed field name {name[:30]!r}... too long"
        assert len(value) <= EMBED_FIELD_VALUE, (
            f"embed field {name!r} value > {EMBED_FIELD_VALUE} chars"
        )
        total += len(name) + len(value)
    if embed.footer.text:
        assert len(embed.footer.text) <= EMBED_FOOTER, "embed footer too long"
        total += len(embed.footer.text)
    if embed.author.name:
        assert len(embed.author.name) <= EMBED_AUTHOR, "embed author too long"
        total += len(embed.author.name)
    assert total <= EMBED_TOTAL, f"embed text totals {total} > {EMBED_TOTAL} chars"


def _embeds(embed: Any, embeds: Any) -> list[discord.Embed]:
    if embed is not MISSING and embeds is not MISSING:
        raise TypeError("Cannot mix embed and embeds keyword arguments.")
    out: list[discord.Embed] = []
    if embeds is not MISSING:
        out = list(embeds)
    elif embed is not MISSING and embed is not None:
        out = [embed]
    if len(out) > MAX_EMBEDS:
        raise ValueError("embeds has a maximum of 10 elements.")
    for e in out:
        assert isinstance(e, discord.Embed), f"expected discord.Embed, got {type(e).__name__}"
        check_embed(e)
    return out


def _files(file: Any, files: Any) -> list[discord.File]:
    if file is not MISSING and files is not MISSING:
        raise TypeError("Cannot mix file and files keyword arguments.")
    if files is not MISSING:
        return list(files)
    return [file] if file is not MISSING and file is not None else []


def _content(content: Any) -> str | None:
    if content is None or content is MISSING:
        return None
    text = str(content)
    assert len(text) <= MAX_CONTENT, f"message content {len(text)} > {MAX_CONTENT} chars"
    return text


def _check_view(view: Any) -> discord.ui.View | None:
    if view is MISSING or view is None:
        return None
    assert isinstance(view, discord.ui.View | discord.ui.LayoutView), (
        f"view must be a discord.ui.View, got {type(view).__name__}"
    )
    rows = {getattr(item, "row", None) or 0 for item in view.children}
    assert len(rows) <= MAX_COMPONENT_ROWS, "a view has at most 5 action rows"
    return view  # type: ignore[return-value]


@dataclass
class SentMessage:
    """Something the code under test sent, as the user would see it."""

    kind: Literal["response", "followup", "edit", "dm", "channel"]
    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    files: list[discord.File] = field(default_factory=list)
    view: discord.ui.View | None = None
    ephemeral: bool = False
    id: int = field(default_factory=snowflake)

    @property
    def embed(self) -> discord.Embed | None:
        return self.embeds[0] if self.embeds else None

    def text(self) -> str:
        """Content plus every embed's visible text, for substring assertions."""
        parts = [self.content or ""]
        for e in self.embeds:
            parts += [e.title or "", e.description or "", e.footer.text or ""]
            parts += [f"{f.name}\n{f.value}" for f in e.fields]
        return "\n".join(p for p in parts if p)


class FakeMessage:
    """The subset of :class:`discord.Message` that code touches after sending."""

    def __init__(self, sent: SentMessage, channel: Any) -> None:
        self.id = sent.id
        self.sent = sent
        self.channel = channel
        self.content = sent.content or ""
        self.embeds = sent.embeds
        self.edits: list[SentMessage] = []

    async def edit(
        self, *, content: Any = MISSING, embed: Any = MISSING, embeds: Any = MISSING,
        view: Any = MISSING, attachments: Any = MISSING,
    ) -> FakeMessage:
        edit = SentMessage("edit", _content(content), _embeds(embed, embeds),
                           view=_check_view(view))
        self.edits.append(edit)
        return self


class Messageable:
    """``send`` recording into ``sent`` (DM and text channels)."""

    kind: Literal["dm", "channel"] = "channel"

    def __init__(self) -> None:
        self.sent: list[SentMessage] = []

    async def send(
        self, content: Any = None, *, tts: bool = False, embed: Any = MISSING,
        embeds: Any = MISSING, file: Any = MISSING, files: Any = MISSING,
        view: Any = MISSING, allowed_mentions: Any = MISSING, silent: bool = False,
        delete_after: float | None = None, suppress_embeds: bool = False,
    ) -> FakeMessage:
        msg = SentMessage(self.kind, _content(content), _embeds(embed, embeds),
                          _files(file, files), _check_view(view))
        assert msg.content or msg.embeds or msg.files, (
            "Cannot send an empty message (Discord 400, code 50006)"
        )
        self.sent.append(msg)
        return FakeMessage(msg, self)


class FakeUser(Messageable):
    """A :class:`discord.User`. ``dms_closed=True`` makes ``send`` raise like Discord."""

    kind: Literal["dm", "channel"] = "dm"

    def __init__(self, id: int | None = None, name: str = "ann", *,
                 global_name: str | None = None, bot: bool = False,
                 dms_closed: bool = False) -> None:
        super().__init__()
        self.id = id if id is not None else snowflake()
        self.name = name
        self.global_name = global_name
        self.discriminator = "0"
        self.bot = bot
        self.system = False
        self.dms_closed = dms_closed

    @property
    def display_name(self) -> str:
        return self.global_name or self.name

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    @property
    def created_at(self) -> datetime:
        return discord.utils.snowflake_time(self.id)

    async def send(self, content: Any = None, **kwargs: Any) -> FakeMessage:
        if self.dms_closed:
            raise forbidden(50007, "Cannot send messages to this user")
        return await super().send(content, **kwargs)

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FakeUser) and other.id == self.id

    def __hash__(self) -> int:
        return self.id >> 22


class FakeRole:
    def __init__(self, id: int, name: str, permissions: discord.Permissions | None = None) -> None:
        self.id = id
        self.name = name
        self.permissions = permissions or discord.Permissions.none()

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


class FakeMember(FakeUser):
    """A :class:`discord.Member`: a user in a guild, with roles and permissions."""

    def __init__(self, id: int | None = None, name: str = "ann", *,
                 guild: FakeGuild | None = None, roles: list[FakeRole] | None = None,
                 permissions: discord.Permissions | None = None, nick: str | None = None,
                 global_name: str | None = None, bot: bool = False,
                 dms_closed: bool = False) -> None:
        super().__init__(id, name, global_name=global_name, bot=bot, dms_closed=dms_closed)
        self.guild = guild
        self.roles = roles or []
        self.nick = nick
        self._base_permissions = permissions or MEMBER_PERMISSIONS
        self.joined_at = datetime(2026, 1, 1, tzinfo=UTC)
        if guild is not None:
            guild._add_member(self)

    @property
    def display_name(self) -> str:
        return self.nick or self.global_name or self.name

    @property
    def guild_permissions(self) -> discord.Permissions:
        """Like discord.py: owner and Administrator get everything."""
        if self.guild is not None and self.guild.owner_id == self.id:
            return discord.Permissions.all()
        value = self._base_permissions.value
        for r in self.roles:
            value |= r.permissions.value
        perms = discord.Permissions(value)
        return discord.Permissions.all() if perms.administrator else perms


class FakeTextChannel(Messageable):
    """A :class:`discord.TextChannel`."""

    kind: Literal["dm", "channel"] = "channel"

    def __init__(self, id: int | None = None, name: str = "trading", *,
                 guild: FakeGuild | None = None) -> None:
        super().__init__()
        self.id = id if id is not None else snowflake()
        self.name = name
        self.guild = guild
        self.type = discord.ChannelType.text
        if guild is not None:
            guild._add_channel(self)

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def permissions_for(self, obj: FakeMember | FakeRole) -> discord.Permissions:
        return obj.guild_permissions if isinstance(obj, FakeMember) else obj.permissions


class FakeDMChannel(Messageable):
    kind: Literal["dm", "channel"] = "dm"

    def __init__(self, recipient: FakeUser) -> None:
        super().__init__()
        self.id = snowflake()
        self.recipient = recipient
        self.guild = None
        self.type = discord.ChannelType.private


class FakeGuild:
    """A :class:`discord.Guild` with lookups by id."""

    def __init__(self, id: int | None = None, name: str = "Pulse Test Desk", *,
                 owner_id: int | None = None) -> None:
        self.id = id if id is not None else snowflake()
        self.name = name
        self.owner_id = owner_id if owner_id is not None else snowflake()
        self._members: dict[int, FakeMember] = {}
        self._channels: dict[int, FakeTextChannel] = {}
        self.me: FakeMember | None = None

    def _add_member(self, m: FakeMember) -> None:
        self._members[m.id] = m

    def _add_channel(self, c: FakeTextChannel) -> None:
        self._channels[c.id] = c

    @property
    def members(self) -> list[FakeMember]:
        return list(self._members.values())

    @property
    def text_channels(self) -> list[FakeTextChannel]:
        return list(self._channels.values())

    @property
    def channels(self) -> list[FakeTextChannel]:
        return self.text_channels

    def get_member(self, user_id: int, /) -> FakeMember | None:
        return self._members.get(user_id)

    def get_channel(self, channel_id: int, /) -> FakeTextChannel | None:
        return self._channels.get(channel_id)


def forbidden(code: int, message: str) -> discord.Forbidden:
    """A :class:`discord.Forbidden` exactly as discord.py builds it from a 403 response."""
    class _Resp:
        status = 403
        reason = "Forbidden"
    return discord.Forbidden(_Resp(), {"code": code, "message": message})


class FakeInteractionResponse:
    """:class:`discord.InteractionResponse`: one response per interaction."""

    def __init__(self, parent: FakeInteraction) -> None:
        self._parent = parent
        self._response_type: discord.InteractionResponseType | None = None
        self.sent: SentMessage | None = None
        self.modal: discord.ui.Modal | None = None
        self.deferred_ephemeral = False
        self.choices: list[discord.app_commands.Choice[Any]] | None = None

    def is_done(self) -> bool:
        return self._response_type is not None

    @property
    def type(self) -> discord.InteractionResponseType | None:
        return self._response_type

    def _claim(self, rtype: discord.InteractionResponseType) -> None:
        if self._response_type is not None:
            raise discord.InteractionResponded(self._parent)  # type: ignore[arg-type]
        self._response_type = rtype

    async def send_message(
        self, content: Any = None, *, embed: Any = MISSING, embeds: Any = MISSING,
        file: Any = MISSING, files: Any = MISSING, view: Any = MISSING, tts: bool = False,
        ephemeral: bool = False, allowed_mentions: Any = MISSING,
        suppress_embeds: bool = False, silent: bool = False,
        delete_after: float | None = None, poll: Any = MISSING,
    ) -> None:
        msg = SentMessage("response", _content(content), _embeds(embed, embeds),
                          _files(file, files), _check_view(view), ephemeral)
        assert msg.content or msg.embeds or msg.files or msg.view, (
            "Cannot send an empty message (Discord 400, code 50006)"
        )
        self._claim(discord.InteractionResponseType.channel_message)
        self.sent = msg
        self._parent._messages.append(msg)

    async def defer(self, *, ephemeral: bool = False, thinking: bool = False) -> None:
        itype = self._parent.type
        if itype in (discord.InteractionType.component, discord.InteractionType.modal_submit) \
                and not thinking:
            self._claim(discord.InteractionResponseType.deferred_message_update)
        else:
            self._claim(discord.InteractionResponseType.deferred_channel_message)
        self.deferred_ephemeral = ephemeral

    async def send_modal(self, modal: discord.ui.Modal, /) -> None:
        assert isinstance(modal, discord.ui.Modal), "send_modal needs a discord.ui.Modal"
        assert self._parent.type is not discord.InteractionType.modal_submit, (
            "a modal cannot answer a modal submit (Discord 400)"
        )
        assert modal.title and len(modal.title) <= 45, "modal title must be 1-45 chars"
        assert 1 <= len(modal.children) <= 5, "a modal holds 1-5 components"
        self._claim(discord.InteractionResponseType.modal)
        self.modal = modal

    async def edit_message(
        self, *, content: Any = MISSING, embed: Any = MISSING, embeds: Any = MISSING,
        attachments: Any = MISSING, view: Any = MISSING, allowed_mentions: Any = MISSING,
        delete_after: float | None = None, suppress_embeds: bool = MISSING,
    ) -> None:
        assert self._parent.type in (
            discord.InteractionType.component, discord.InteractionType.modal_submit
        ), "edit_message is only for component and modal interactions"
        msg = SentMessage("edit", _content(content), _embeds(embed, embeds),
                          view=_check_view(view))
        self._claim(discord.InteractionResponseType.message_update)
        self.sent = msg
        self._parent._messages.append(msg)

    async def autocomplete(self, choices: list[discord.app_commands.Choice[Any]]) -> None:
        assert len(choices) <= 25, "autocomplete returns at most 25 choices"
        self._claim(discord.InteractionResponseType.autocomplete_result)
        self.choices = list(choices)


class FakeFollowup:
    """``interaction.followup``: a :class:`discord.Webhook` bound to the interaction."""

    def __init__(self, parent: FakeInteraction) -> None:
        self._parent = parent
        self.sent: list[SentMessage] = []

    async def send(
        self, content: Any = MISSING, *, tts: bool = False, ephemeral: bool = False,
        file: Any = MISSING, files: Any = MISSING, embed: Any = MISSING,
        embeds: Any = MISSING, allowed_mentions: Any = MISSING, view: Any = MISSING,
        wait: bool = False, suppress_embeds: bool = False, silent: bool = False,
        username: Any = MISSING, avatar_url: Any = MISSING,
    ) -> FakeMessage:
        assert self._parent.response.is_done(), (
            "followup.send before responding: Discord answers 404 Unknown Webhook"
        )
        msg = SentMessage("followup", _content(content), _embeds(embed, embeds),
                          _files(file, files), _check_view(view), ephemeral)
        assert msg.content or msg.embeds or msg.files, "Cannot send an empty message"
        self.sent.append(msg)
        self._parent._messages.append(msg)
        return FakeMessage(msg, self._parent.channel)


class FakeNamespace:
    """``interaction.namespace``: the command's options as attributes."""

    def __init__(self, **options: Any) -> None:
        self.__dict__.update(options)

    def __getattr__(self, name: str) -> Any:  # discord.py returns None for absent options
        return None


class FakeInteraction:
    """A :class:`discord.Interaction` for a slash command, button or modal submit."""

    def __init__(
        self,
        *,
        client: Any,
        user: FakeUser,
        guild: FakeGuild | None = None,
        channel: Any = None,
        type: discord.InteractionType = discord.InteractionType.application_command,
        command: Any = None,
        namespace: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        message: FakeMessage | None = None,
        locale: discord.Locale = discord.Locale.american_english,
    ) -> None:
        self.id = snowflake()
        self.application_id = getattr(client, "application_id", None) or snowflake()
        self.token = f"itoken-{self.id}"
        self.version = 1
        self.client = client
        self.user = user
        self.guild = guild
        self.guild_id = guild.id if guild is not None else None
        self.channel = channel if channel is not None else (
            guild.text_channels[0] if guild is not None and guild.text_channels
            else FakeDMChannel(user)
        )
        self.channel_id = self.channel.id
        self.type = type
        self.command = command
        self.namespace = FakeNamespace(**(namespace or {}))
        self.data = data or {}
        self.message = message
        self.locale = locale
        self.guild_locale = locale if guild is not None else None
        self.created_at = discord.utils.snowflake_time(self.id)
        self.response = FakeInteractionResponse(self)
        self.followup = FakeFollowup(self)
        self.extras: dict[Any, Any] = {}
        self._messages: list[SentMessage] = []
        self.original_edits: list[SentMessage] = []

    @property
    def permissions(self) -> discord.Permissions:
        """The member's resolved permissions (all of them in DMs, like discord.py)."""
        if isinstance(self.user, FakeMember):
            return self.user.guild_permissions
        return discord.Permissions.all() if self.guild is None else discord.Permissions.none()

    @property
    def app_permissions(self) -> discord.Permissions:
        return MEMBER_PERMISSIONS

    def is_expired(self) -> bool:
        return False

    def is_guild_integration(self) -> bool:
        return self.guild_id is not None

    @property
    def messages(self) -> list[SentMessage]:
        """Everything sent through this interaction, in order."""
        return list(self._messages)

    async def original_response(self) -> FakeMessage:
        sent = self.response.sent
        assert sent is not None, "original_response before a message response: Discord 404"
        return FakeMessage(sent, self.channel)

    async def edit_original_response(
        self, *, content: Any = MISSING, embed: Any = MISSING, embeds: Any = MISSING,
        attachments: Any = MISSING, view: Any = MISSING, allowed_mentions: Any = MISSING,
    ) -> FakeMessage:
        assert self.response.is_done(), "edit_original_response before responding: 404"
        msg = SentMessage("edit", _content(content), _embeds(embed, embeds),
                          view=_check_view(view))
        self.original_edits.append(msg)
        self._messages.append(msg)
        return FakeMessage(msg, self.channel)

    async def delete_original_response(self) -> None:
        assert self.response.is_done(), "delete_original_response before responding: 404"


def make_interaction(
    *, client: Any, user: FakeUser | None = None, guild: FakeGuild | None = None, **kw: Any
) -> FakeInteraction:
    """A slash-command interaction from ``user`` (a fresh member of ``guild`` by default)."""
    if user is None:
        user = FakeMember(guild=guild) if guild is not None else FakeUser()
    return FakeInteraction(client=client, user=user, guild=guild, **kw)


def fill_modal(modal: discord.ui.Modal, values: dict[str, str]) -> None:
    """Type into a modal's text inputs as a user would.

    Keys are a text input's custom_id or its label (a :class:`discord.ui.Label`'s text,
    or the deprecated ``TextInput.label``).
    """
    inputs: dict[str, discord.ui.TextInput[Any]] = {}
    for item in modal.children:
        label: str | None = None
        if isinstance(item, discord.ui.Label):
            label, item = item.text, item.component
        if not isinstance(item, discord.ui.TextInput):
            continue
        if label is None:  # old style: TextInput(label=...), read without the deprecation
            label = item._underlying.label
        inputs[item.custom_id] = item
        if label:
            inputs[label] = item
    for key, value in values.items():
        assert key in inputs, f"modal has no text input {key!r}; has {sorted(inputs)}"
        text_input = inputs[key]
        if text_input.max_length is not None:
            assert len(value) <= text_input.max_length, (
                f"{key!r} longer than {text_input.max_length}"
            )
        text_input._value = value
    for text_input in {id(i): i for i in inputs.values()}.values():
        assert not (text_input.required and not text_input.value), (
            f"required input {text_input.custom_id!r} is empty"
        )


def find_button(view: discord.ui.View, label: str) -> discord.ui.Button[Any]:
    """The button labelled ``label`` in ``view`` (AssertionError listing labels if absent)."""
    buttons = [c for c in view.children if isinstance(c, discord.ui.Button)]
    for b in buttons:
        if b.label == label:
            return b
    raise AssertionError(f"no button {label!r}; buttons: {[b.label for b in buttons]}")


async def invoke(command: Any, interaction: FakeInteraction, /, **options: Any) -> None:
    """Call an app command's callback as discord.py would after parsing the options.

    ``command`` is the :class:`discord.app_commands.Command` (e.g. ``cog.help``); its
    cog is bound automatically. Like Discord, only declared options may be passed and
    every required one must be.
    """
    declared = {p.name: p for p in command.parameters}
    unknown = sorted(set(options) - set(declared))
    assert not unknown, f"/{command.qualified_name} has no option(s) {unknown}"
    missing = sorted(n for n, p in declared.items() if p.required and n not in options)
    assert not missing, f"/{command.qualified_name} needs option(s) {missing}"
    interaction.command = command
    interaction.namespace = FakeNamespace(**options)
    if command.binding is not None:
        await command.callback(command.binding, interaction, **options)
    else:
        await command.callback(interaction, **options)


# discord.py's own dispatch paths, without the network. ``dispatch`` runs a slash command
# the way :class:`discord.app_commands.CommandTree` does after parsing the payload: checks,
# the options' transformers on the raw values, the callback, and on failure the
# command's/cog's error handlers (``invoke`` above calls the bare callback instead).
# ``press`` runs a button the way :class:`discord.ui.View` does: the view's
# ``interaction_check`` first, then the callback (exceptions surface in the test).


async def dispatch(command: app_commands.Command[Any, ..., Any], interaction: FakeInteraction,
                   /, **raw: Any) -> None:
    """Parse ``raw`` option values through the command's transformers, then call it."""
    interaction.command = command
    interaction.namespace = FakeNamespace(**raw)
    try:
        await command._invoke_with_namespace(interaction, interaction.namespace)  # type: ignore[arg-type]
    except app_commands.AppCommandError as exc:
        await command._invoke_error_handlers(interaction, exc)  # type: ignore[arg-type]


async def press(view: discord.ui.View, label: str, interaction: FakeInteraction) -> bool:
    """Press the button labelled ``label``; False when the view refused the presser."""
    button = find_button(view, label)
    if not await view.interaction_check(interaction):  # type: ignore[arg-type]
        return False
    await button.callback(interaction)  # type: ignore[arg-type]
    return True

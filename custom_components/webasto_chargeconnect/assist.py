"""Assist (voice): start and stop charging, and ask for the charger's power, in English and Dutch.

Home Assistant's built-in intents already switch the "Charging" switch and read the "Power"
sensor by name or alias ("turn on car charging"). The sentences here are the ones no built-in
intent covers ("start charging the car", "laad de auto", "what is the charger's power"). They
are attached as ``conversation`` triggers, exactly as an automation's sentence trigger is (the
public trigger API: ``async_validate_trigger_config`` / ``async_initialize_triggers``, answered with
a ``ScriptRunResult``, the same on every supported Home Assistant version), one trigger per command
holding the sentences of every language the default agent supports. The answer is
spoken in the language of the sentence: the conversation's language if the sentence is one of
its sentences, else the language whose sentence it is. (One trigger per language would run
twice for a sentence that is valid in both, e.g. "start Garage", and start charging twice.)

The triggers exist only while at least one charger entry is loaded, and they are rebuilt when
chargers are loaded, unloaded or renamed: with several chargers a sentence may name one ("start
charging Garage"), and those names are literal alternatives in the sentences (a wildcard would
take over sentences meant for other devices, because sentence triggers are matched before the
built-in intents). Without the ``conversation`` integration nothing is registered; if it is
loaded later (``after_dependencies`` in manifest.json normally loads it first), the triggers are
registered then.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
)
from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import CALLBACK_TYPE, Context, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.script import ScriptRunResult
from homeassistant.helpers.trigger import async_initialize_triggers, async_validate_trigger_config

from .chargeconnect import (
    CallRejectedError,
    CallTimeoutError,
    ChargeConnectError,
    Charger,
    ChargerOfflineError,
)
from .compat import charger_device
from .const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from hassil.intents import Intents

CONVERSATION: Final = "conversation"
# hass.data key of the AssistTriggers object (the hub is under DOMAIN).
DATA_ASSIST: Final = f"{DOMAIN}_assist"
NAME_SLOT: Final = "{name}"

START: Final = "start"
STOP: Final = "stop"
POWER: Final = "power"


@dataclass(frozen=True, kw_only=True)
class Language:
    """Sentences (hassil templates) and spoken answers of one language."""

    sentences: dict[str, tuple[str, ...]]
    # The same, naming a charger: NAME_SLOT becomes the chargers' names.
    named: dict[str, tuple[str, ...]]
    answers: dict[str, str]
    decimal: str
    or_word: str


LANGUAGES: Final[dict[str, Language]] = {
    "en": Language(
        sentences={
            START: (
                "start charging [the] (car|vehicle|EV)",
                "charge [the] (car|vehicle|EV)",
                "start [the] charger",
                "start charging",
            ),
            STOP: (
                "stop charging [the] (car|vehicle|EV)",
                "stop [the] charger",
                "stop charging",
            ),
            POWER: (
                "(what is|what's) [the] (charger's|chargers|charger|charging) power",
                "(what is|what's) the power of the (charger|car)",
                "how much power is [the] (charger|car|vehicle) using",
                "how much power is [the] (car|vehicle) charging with",
            ),
        },
        named={
            START: (
                "start charging [on|with|at] [the] {name}",
                "start [the] {name}",
                "charge [the] (car|vehicle|EV) (on|with|at) [the] {name}",
            ),
            STOP: (
                "stop charging [on|with|at] [the] {name}",
                "stop [the] {name}",
            ),
            POWER: (
                "(what is|what's) the power of [the] {name}",
                "how much power is [the] {name} using",
            ),
        },
        answers={
            "started": "Started charging.",
            "started_waiting": "Charging starts as soon as the car is plugged in.",
            "already_charging": "The car is already charging.",
            "stopped": "Stopped charging.",
            "not_charging": "The car is not charging.",
            "power": "The charger is using {power}.",
            "power_zero": "The charger is not using any power.",
            "power_unknown": "The charger has not reported its power yet.",
            "offline": "The charger is offline.",
            "no_charger": "No charger is set up.",
            "which": "Which charger do you mean: {names}?",
            "rejected": "The charger refused.",
            "timeout": "The charger did not answer.",
            "failed": "That did not work; the Home Assistant log has the details.",
        },
        decimal=".",
        or_word="or",
    ),
    "nl": Language(
        sentences={
            START: (
                "(start|begin) [met] [het] laden",
                "laad de auto [op]",
                "start de laadpaal",
                "start het laden van de auto",
            ),
            STOP: (
                "stop [met] [het] laden",
                "stop de laadpaal",
                "stop het laden van de auto",
            ),
            POWER: (
                "hoeveel vermogen (laadt|gebruikt) de (auto|laadpaal)",
                "met hoeveel vermogen laadt de auto",
                "wat is het [laad]vermogen van de (laadpaal|auto)",
            ),
        },
        named={
            START: (
                "start [het] laden (op|van|met) [de] {name}",
                "start [de] {name}",
                "laad de auto [op] (op|met) [de] {name}",
            ),
            STOP: (
                "stop [het] laden (op|van|met) [de] {name}",
                "stop [de] {name}",
            ),
            POWER: (
                "hoeveel vermogen (laadt|gebruikt) [de] {name}",
                "wat is het vermogen van [de] {name}",
            ),
        },
        answers={
            "started": "Laden gestart.",
            "started_waiting": "Het laden begint zodra de auto is aangesloten.",
            "already_charging": "De auto laadt al.",
            "stopped": "Laden gestopt.",
            "not_charging": "De auto laadt niet.",
            "power": "De laadpaal gebruikt {power}.",
            "power_zero": "De laadpaal gebruikt geen vermogen.",
            "power_unknown": "De laadpaal heeft nog geen vermogen gemeld.",
            "offline": "De laadpaal is offline.",
            "no_charger": "Er is geen laadpaal ingesteld.",
            "which": "Welke laadpaal bedoel je: {names}?",
            "rejected": "De laadpaal weigerde.",
            "timeout": "De laadpaal antwoordde niet.",
            "failed": "Dat lukte niet; details staan in het logboek van Home Assistant.",
        },
        decimal=",",
        or_word="of",
    ),
}

# Library errors with their own spoken answer (others: "failed", and the error is logged).
_ERROR_ANSWERS: Final[tuple[tuple[type[ChargeConnectError], str], ...]] = (
    (ChargerOfflineError, "offline"),
    (CallRejectedError, "rejected"),
    (CallTimeoutError, "timeout"),
)

# Characters with a meaning in hassil templates (and other punctuation): not part of a name.
_NOT_NAME = re.compile(r"[^\w\s'-]")
_SPACES = re.compile(r"\s+")


def _template_name(name: str) -> str:
    """A charger name as literal template text."""
    return _SPACES.sub(" ", _NOT_NAME.sub(" ", name)).strip().lower()


def _normalize(text: str) -> str:
    """Text for finding a name in a sentence: lower case, words only, single spaces."""
    return " " + _SPACES.sub(" ", re.sub(r"[^\w']", " ", text)).strip().lower() + " "


def format_power(watts: float, language: str) -> str:
    """Power as spoken: '7.4 kW' (en) / '7,4 kW' (nl); below 1 kW in watts."""
    if abs(watts) < 1000:
        return f"{round(watts)} W"
    text = f"{watts / 1000:.1f}".removesuffix(".0")
    return f"{text.replace('.', LANGUAGES[language].decimal)} kW"


@dataclass(frozen=True)
class _Target:
    """A loaded charger entry and the names a sentence may use for it."""

    entry: ConfigEntry[Any]
    display_name: str
    names: tuple[str, ...]

    @property
    def charger(self) -> Charger:
        charger: Charger = self.entry.runtime_data.charger
        return charger


def _targets(hass: HomeAssistant) -> list[_Target]:
    """The loaded chargers, each with its device name, title and identity."""
    targets: list[_Target] = []
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is not ConfigEntryState.LOADED:
            continue
        charger: Charger = entry.runtime_data.charger
        device = charger_device(hass, entry.entry_id, charger.identity)
        display = (device and (device.name_by_user or device.name)) or entry.title
        candidates = [display, entry.title, charger.identity]
        if device is not None and device.name:
            candidates.append(device.name)
        names: list[str] = []
        for candidate in candidates:
            for variant in (candidate, candidate.replace("-", " ")):
                name = _template_name(variant)
                if name and name not in names:
                    names.append(name)
        targets.append(_Target(entry, display, tuple(names)))
    return targets


def _join(names: list[str], or_word: str) -> str:
    """'A, B or C' (at least two names)."""
    return f"{', '.join(names[:-1])} {or_word} {names[-1]}"


def _supported_languages(hass: HomeAssistant) -> list[str]:
    """Our languages that Home Assistant's own conversation agent understands."""
    from homeassistant.components import conversation

    supported = conversation.async_get_conversation_languages(
        hass, conversation.HOME_ASSISTANT_AGENT
    )
    return [language for language in LANGUAGES if supported == "*" or language in supported]


class AssistTriggers:
    """The sentence triggers of this integration, kept in step with the loaded chargers."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        # Detaches the attached triggers (None: none attached).
        self._detach: CALLBACK_TYPE | None = None
        self._attached = 0
        # Bumped by every rebuild and clear: an attachment still under way for an older set of
        # names detaches itself when it completes.
        self._generation = 0
        self._names: tuple[tuple[str, ...], ...] | None = None
        self._listeners: list[CALLBACK_TYPE] = []
        # Per command: each language's sentences, compiled (to tell the sentence's language).
        self._compiled: dict[str, dict[str, Intents]] = {}

    @property
    def registered(self) -> int:
        """How many triggers are attached (one per command)."""
        return self._attached if self._detach is not None else 0

    @callback
    def async_start(self) -> None:
        """Register now and follow chargers being loaded, unloaded and renamed."""
        if self._listeners:
            return

        @callback
        def entry_changed(_change: ConfigEntryChange, entry: ConfigEntry[Any]) -> None:
            if entry.domain == DOMAIN:
                self.async_refresh()

        @callback
        def device_renamed(event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
            self.async_refresh()

        @callback
        def is_rename(data: dr.EventDeviceRegistryUpdatedData) -> bool:
            return data["action"] == "update" and bool(
                {"name", "name_by_user"} & set(data["changes"])
            )

        self._listeners = [
            async_dispatcher_connect(self.hass, SIGNAL_CONFIG_ENTRY_CHANGED, entry_changed),
            self.hass.bus.async_listen(
                dr.EVENT_DEVICE_REGISTRY_UPDATED, device_renamed, event_filter=is_rename
            ),
        ]
        self.async_refresh()

    @callback
    def async_stop(self) -> None:
        """Unregister everything."""
        for remove in self._listeners:
            remove()
        self._listeners = []
        self._clear()

    @callback
    def _clear(self) -> None:
        self._generation += 1
        if self._detach is not None:
            self._detach()
        self._detach = None
        self._attached = 0
        self._names = None
        self._compiled = {}

    @callback
    def async_refresh(self) -> None:
        """(Re)build the triggers if the set of loaded chargers or their names changed."""
        targets = _targets(self.hass)
        names = tuple(target.names for target in targets)
        if names == self._names:
            return
        self._clear()
        if not targets:
            return  # no charger loaded: leave these sentences to other integrations
        from hassil.intents import Intents as HassilIntents

        alternatives = "(" + "|".join(sorted({n for t in names for n in t})) + ")"
        languages = _supported_languages(self.hass)
        configs: list[dict[str, Any]] = []
        for command in (START, STOP, POWER):
            compiled: dict[str, Intents] = {}
            templates: list[str] = []
            for language in languages:
                texts = LANGUAGES[language]
                own = [
                    *texts.sentences[command],
                    *(s.replace(NAME_SLOT, alternatives) for s in texts.named[command]),
                ]
                compiled[language] = HassilIntents.from_dict(
                    {"language": language, "intents": {command: {"data": [{"sentences": own}]}}}
                )
                templates.extend(own)
            if templates:
                # The trigger an automation gets for "Sentence" (platform conversation).
                configs.append({"platform": CONVERSATION, "id": command, "command": templates})
                self._compiled[command] = compiled
        self._names = names
        if configs:
            self.hass.async_create_task(
                self._async_attach(configs, self._generation), f"{DOMAIN} voice sentences"
            )

    async def _async_attach(self, configs: list[dict[str, Any]], generation: int) -> None:
        """Attach the sentence triggers (one per command)."""
        validated = await async_validate_trigger_config(self.hass, configs)
        detach = await async_initialize_triggers(
            self.hass, validated, self._async_triggered, DOMAIN, "voice sentences", _log
        )
        if detach is None:
            return  # logged by Home Assistant
        if generation != self._generation:
            detach()  # rebuilt or stopped meanwhile
            return
        self._detach = detach
        self._attached = len(validated)

    async def _async_triggered(
        self, run_variables: dict[str, Any], context: Context | None = None
    ) -> ScriptRunResult:
        """A sentence matched: answer as an automation's ``set_conversation_response`` does."""
        trigger: dict[str, Any] = run_variables["trigger"]
        command: str = trigger["id"]
        text: str = trigger["sentence"]
        language = self.language_of(command, text, trigger["user_input"].get("language"))
        answer = await self.async_handle(command, language, text)
        return ScriptRunResult(conversation_response=answer, service_response=None, variables={})

    def language_of(self, command: str, text: str, conversation_language: str | None) -> str:
        """The language to answer in: the conversation's, if the sentence is one of its own."""
        from hassil.recognize import recognize

        compiled = self._compiled.get(command, {})
        preferred = re.split(r"[-_]", conversation_language or "")[0].lower()
        order = sorted(compiled, key=lambda language: language != preferred)
        fallback = preferred if preferred in LANGUAGES else next(iter(LANGUAGES))
        return next((lang for lang in order if recognize(text, compiled[lang])), fallback)

    async def async_handle(self, command: str, language: str, text: str) -> str:
        """Carry out a recognised sentence; returns the spoken answer."""
        answers = LANGUAGES[language].answers
        targets = _targets(self.hass)
        if not targets:
            return answers["no_charger"]
        target = _named(targets, text)
        if target is None:
            if len(targets) > 1:
                names = _join([t.display_name for t in targets], LANGUAGES[language].or_word)
                return answers["which"].format(names=names)
            target = targets[0]
        charger = target.charger
        if not charger.online:
            return answers["offline"]
        if command == POWER:
            return _power_answer(charger, language)
        try:
            if command == START:
                if charger.active_transaction is not None:
                    return answers["already_charging"]
                plugged_in = charger.plugged_in
                await charger.remote_start()  # as the Charging switch: configured / favourite tag
                return answers["started" if plugged_in else "started_waiting"]
            if charger.active_transaction is None:
                return answers["not_charging"]
            await charger.remote_stop()
        except ChargeConnectError as err:
            known = [key for kind, key in _ERROR_ANSWERS if isinstance(err, kind)]
            if not known:
                LOGGER.warning("%s: voice command %r failed: %s", charger.identity, text, err)
            return answers[(known or ["failed"])[0]]
        return answers["stopped"]


def _log(level: int, message: str, **kwargs: Any) -> None:
    """Home Assistant's trigger helper reports through this."""
    LOGGER.log(level, "Voice sentences: %s", message, **kwargs)


def _named(targets: list[_Target], text: str) -> _Target | None:
    """The charger the sentence names (the longest name found), if any."""
    spoken = _normalize(text)
    best: tuple[int, _Target] | None = None
    for target in targets:
        for name in target.names:
            words = _normalize(name)
            if words.strip() and words in spoken and (best is None or len(words) > best[0]):
                best = (len(words), target)
    return None if best is None else best[1]


def _power_answer(charger: Charger, language: str) -> str:
    answers = LANGUAGES[language].answers
    power = charger.measurements.power_w
    if power is None:
        return answers["power_unknown"]
    if round(power) == 0:
        return answers["power_zero"]
    return answers["power"].format(power=format_power(power, language))


@callback
def async_setup_assist(hass: HomeAssistant) -> None:
    """Offer the voice sentences (once per Home Assistant start, from async_setup)."""
    triggers = AssistTriggers(hass)
    hass.data[DATA_ASSIST] = triggers
    if CONVERSATION in hass.config.components:
        triggers.async_start()
        return

    remove: CALLBACK_TYPE | None = None

    @callback
    def component_loaded(event: Event[Any]) -> None:
        nonlocal remove
        if event.data.get("component") != CONVERSATION or remove is None:
            return
        remove()
        remove = None
        triggers.async_start()

    remove = hass.bus.async_listen(EVENT_COMPONENT_LOADED, component_loaded)

"""The simulator core, built from settings: it answers parsed requests and knows nothing of HTTP.

One request goes: parse (validation, prompt tokens) → fault injection → answer by mode (generate, record,
replay) → latency → delivery faults. Everything that can change at run time lives in one immutable
`RuntimeConfig` held by a config store; a change rebuilds its dependants (deployments, latency model) and
swaps them, so a request always sees one consistent snapshot.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from simulator import errors
from simulator import faults as fault_kinds
from simulator.collector import COLLECTOR
from simulator.context import OpenAIRequest
from simulator.delivery import QUIET_ABORTS, abort_after, apply_completion_filter, settle_when_done
from simulator.deployments import Deployment, Deployments, load_deployments
from simulator.errors import OpenAIError
from simulator.extensions import ExtensionRegistry, load_extensions
from simulator.extensions.limits import LimitStores
from simulator.faults import FaultConfig, FaultInjector
from simulator.generators import Generator, default_generators
from simulator.generators.base import GenerationSettings, RandomSource
from simulator.generators.tool_calls import ToolCallPolicy
from simulator.latency import LatencyConfig, LatencyModel, Pacer
from simulator.latency.config import LegacyLatency, MeanStd
from simulator.limits import RequestLimits, StreamSlots, hold_until_sent
from simulator.media.image_urls import BlobImageStore, ImageStore, ImageUrls, MemoryImageStore
from simulator.models import Operation
from simulator.ratelimit import FailureMode, RateLimitConfig, RateLimiter
from simulator.recording import RecordingConfig, UnmatchedPolicy, open_persister
from simulator.recording.config import parse_deployment_map, parse_names
from simulator.replies import JsonReply, Reply, StreamReply
from simulator.responses.service import ResponsesService
from simulator.responses.store import MemoryResponseStore, ResponseStore
from simulator.runtime_config import ConfigStore, MemoryConfigStore, RuntimeConfig
from simulator.settings import Mode, Settings, SettingsError, parse_token_range
from simulator.telemetry import Telemetry
from simulator.tokens import load_encodings, use_bundled_cache

if TYPE_CHECKING:  # imported when a mode needs them: aiohttp and YAML cost memory where they are not used
    from simulator.recording.recorder import Recorder
    from simulator.recording.replayer import Replayer

logger = logging.getLogger(__name__)


class Simulator:
    def __init__(
        self,
        settings: Settings,
        config_store: ConfigStore,
        generators: Mapping[Operation, Generator],
        *,
        api_key: str,
        recording: RecordingConfig,
        limiter: RateLimiter,
        responses: ResponsesService | None = None,
        telemetry: Telemetry | None = None,
        image_urls: ImageUrls | None = None,
    ) -> None:
        self.settings = settings
        self.image_urls = image_urls or ImageUrls(MemoryImageStore(), settings.image_url_ttl_seconds)
        self.limiter = limiter
        self.telemetry = telemetry or Telemetry()
        self.config_store = config_store
        self.generators = dict(generators)
        self.api_key = api_key
        self.recording = recording
        self.random = RandomSource(settings.seed)
        self.faults = FaultInjector(
            settings.seed, header="x-simulator-fault" if settings.fault_header else None, region=settings.region
        )
        self.pacer = Pacer()
        self.responses = responses or ResponsesService(MemoryResponseStore())
        self.limits = RequestLimits.from_settings(settings)
        self.streams = StreamSlots(settings.max_concurrent_streams)
        self._latency_random = random.Random(settings.seed)
        self._recorder: Recorder | None = None
        self._replayer: Replayer | None = None
        self._persister: Any = None
        self.extensions = ExtensionRegistry(self, LimitStores(limiter.config))
        self._rebuild(config_store.current)
        config_store.subscribe(self._rebuild)

    @classmethod
    def from_settings(cls, settings: Settings) -> Simulator:
        """Everything the simulator needs, built once; a bad setting raises `SettingsError` naming it, and
        tokenizers that cannot be had `EncodingsUnavailableError`."""
        use_bundled_cache()
        load_encodings()
        initial = initial_config(settings)
        if settings.storage_configured:
            from simulator.runtime_config.table import TableConfigStore

            store: ConfigStore = TableConfigStore.connect(
                initial,
                table_name=settings.runtime_config_table,
                connection_string=settings.storage_connection_string,
                account_url=settings.table_url,
                poll_interval=settings.runtime_config_poll_seconds,
                validate=_validator(settings),
            )
        else:
            store = MemoryConfigStore(initial, validate=_validator(settings))
        generation = GenerationSettings(
            parse_token_range(settings.completion_tokens),
            seed=settings.seed,
            tool_calls=ToolCallPolicy(
                auto_probability=settings.tool_call_probability,
                after_tool_probability=settings.tool_call_probability_after_tool,
                parallel_probability=settings.parallel_tool_call_probability,
            ),
            max_generated_tokens=settings.max_generated_tokens,
        )
        api_key = settings.api_key or secrets.token_urlsafe(24)
        if settings.api_key is None:
            # The key itself is printed by the local host's banner, never logged (logs travel to App Insights).
            logger.warning("SIMULATOR_API_KEY is not set: using a generated key for this run")
        image_urls = image_urls_for(settings)
        simulator = cls(
            settings,
            store,
            default_generators(generation, image_urls),
            api_key=api_key,
            recording=recording_config(settings),
            limiter=RateLimiter.from_config(rate_limit_config(settings)),
            responses=ResponsesService(response_store(settings)),
            telemetry=Telemetry.from_settings(settings),
            image_urls=image_urls,
        )
        if settings.extension_path:
            load_extensions(settings.extension_path, simulator.extensions)
            simulator._rebuild(simulator.config)  # with the extensions' latency rules
        return simulator

    async def start(self) -> None:
        """Connect to shared state (runtime config and limits in Table Storage) before serving."""
        await self.config_store.start()
        await self.limiter.start()
        await self.responses.store.start()
        await self.telemetry.start()
        await self.extensions.start()
        COLLECTOR.start()

    async def close(self) -> None:
        await COLLECTOR.close()
        await self.telemetry.close()
        await self.config_store.close()
        await self.limiter.aclose()
        await self.responses.store.close()
        await self.extensions.close()
        await self.image_urls.close()
        if self._recorder is not None:
            await self._recorder.close()
        if self._persister is not None:
            await self._persister.close()

    @property
    def config(self) -> RuntimeConfig:
        return self.config_store.current

    def _rebuild(self, config: RuntimeConfig) -> None:
        self.deployments = Deployments(
            config.deployments,
            allow_undefined=self.settings.allow_undefined_deployments,
            default_chat_model=self.settings.default_chat_model,
            default_embedding_model=self.settings.default_embedding_model,
        )
        rules = self.extensions.ruled_profile if self.extensions.latency_rules else None
        self.latency = LatencyModel(config.latency, self._latency_random, rules)

    async def answer(self, request: OpenAIRequest) -> Reply:
        """The answer, or the `OpenAIError` to answer with, within this instance's resource limits (`simulator.limits`).
        Telemetry measures both, here and only here (in one coroutine with the pipeline: a wrapping coroutine would
        cost every request about 1,300 instructions)."""
        config = self.config
        release = None  # a stream's slot, held until it is sent
        try:
            self.limits.check(request.raw_body, request.body)
            if request.streamed:
                release = self.streams.acquire()
            generator = self.generators[request.operation]
            responses = request.operation is Operation.RESPONSES
            if responses:
                await self.responses.prepare(request, strict=config.mode is Mode.GENERATE)
            params = self._parse(generator, request, strict=config.mode is Mode.GENERATE)
            admission = await self.limiter.admit(request)
            decision = self.faults.choose(request, config.faults)
            if decision is not None:
                await self._before(request, decision)
            if config.mode is Mode.RECORD:
                reply = await self.recorder().forward(request)
            elif config.mode is Mode.REPLAY:
                replayed = await self.replayer().replay(request)
                reply = replayed if replayed is not None else await self._generate(generator, request, params, decision)
            else:
                reply = await self._generate(generator, request, params, decision)
            reply.headers.update(admission.headers)
            if responses:
                reply = await self.responses.keep(request, reply, self.latency)
            reply = await settle_when_done(_delivered(reply, decision), admission)
        except BaseException as error:
            if release is not None:
                release()
            if isinstance(error, OpenAIError):
                self.telemetry.refused(request, error, config.mode.value, injected=request.injected_fault)
            elif isinstance(error, Exception):
                self.telemetry.refused(request, errors.internal_error(), config.mode.value, injected=False)
            raise
        reply = self.telemetry.answered(request, reply, config.mode.value)
        return reply if release is None else hold_until_sent(reply, release)

    async def answer_stored(self, request: OpenAIRequest, answer: Callable[[], Awaitable[Reply]]) -> Reply:
        """A stored-object route (the Responses API's retrieve, delete, input items, cancel): answered from the
        store by `answer`, under the same faults as inference. No tokens are spent, so no rate limit or latency
        applies (AOAI's quotas count inference calls). A resumed stream holds a stream slot as any other."""
        decision = self.faults.choose(request, self.config.faults)
        if decision is not None:
            await self._before(request, decision)
        reply = await answer()
        if isinstance(reply, StreamReply):
            return hold_until_sent(_delivered(reply, decision), self.streams.acquire())
        return _delivered(reply, decision)

    async def _before(self, request: OpenAIRequest, decision: fault_kinds.Decision) -> None:
        """What a fault does before the answer: its delay, or its error (raised). Awaited only when a fault fires:
        a coroutine on every request would cost it about 1,300 instructions."""
        if isinstance(decision, fault_kinds.Refuse):
            request.injected_fault = True
            await asyncio.sleep(decision.delay)
            raise decision.error
        if decision.delay:
            request.added_latency += decision.delay
            await asyncio.sleep(decision.delay)

    def _parse(self, generator: Generator, request: OpenAIRequest, *, strict: bool) -> Any:
        """Generate mode refuses invalid requests itself; record and replay leave that to the real service
        (whose answer was or will be recorded) and only need the prompt's token count."""
        try:
            return generator.parse(request)
        except OpenAIError:
            if strict:
                raise
            return None

    async def _generate(
        self, generator: Generator, request: OpenAIRequest, params: Any, decision: fault_kinds.Decision | None
    ) -> Reply:
        if params is None:  # replay fell back to generation for a request generate mode refuses
            params = generator.parse(request)
        seed = request.body.get("seed")
        rng = self.random.for_request(seed if isinstance(seed, int) and not isinstance(seed, bool) else None)
        reply = generator.generate(request, params, rng)
        if inspect.isawaitable(reply):  # media generators encode or store files
            reply = await reply
        if isinstance(decision, fault_kinds.FilterCompletion):
            reply = apply_completion_filter(reply, decision.content_filter_results())
        reasoning_tokens = reply.usage.reasoning_tokens if reply.usage else 0
        if isinstance(reply, StreamReply) and reply.events is not None:
            chunk_tokens = reply.events.token_counts()
            plan = self.latency.plan(request, chunk_tokens=chunk_tokens, reasoning_tokens=reasoning_tokens)
            if not plan.is_zero:
                reply.source = self.pacer.pace(reply.events, plan, request.received_at)
        elif isinstance(reply, JsonReply) and not reply.immediate:
            completion_tokens = reply.usage.completion_tokens if reply.usage else 0
            plan = self.latency.plan(request, completion_tokens, reasoning_tokens=reasoning_tokens)
            if not plan.is_zero:
                request.added_latency += plan.total
                await self.pacer.wait_until(request.received_at + plan.total)
        return reply

    def recorder(self) -> Recorder:
        if self._recorder is None:
            from simulator.recording.recorder import Recorder

            self._recorder = Recorder(self.recording, self.persister())
        return self._recorder

    def replayer(self) -> Replayer:
        if self._replayer is None:
            from simulator.recording.replayer import Replayer

            self._replayer = Replayer(self.recording, self.persister(), image_urls=self.image_urls)
        return self._replayer

    def persister(self) -> Any:
        if self._persister is None:
            self._persister = open_persister(self.recording)
        return self._persister


def _delivered(reply: Reply, decision: fault_kinds.Decision | None) -> Reply:
    """`reply` as a delivery fault leaves it: cut after some events, or never sent (the connection closed)."""
    if isinstance(decision, fault_kinds.CutStream) and isinstance(reply, StreamReply):
        return abort_after(reply, decision.after)
    if isinstance(decision, fault_kinds.Reset | fault_kinds.CutStream):
        return abort_after(reply, 0)
    return reply


def configure_logging(level: str, *, root: bool = True, log_format: str = "text") -> None:
    """The simulator's log level and format (`json`: one object per line); the Azure SDKs' per-call HTTP logs
    (every Table poll) stay at WARNING."""
    if root:
        logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        if log_format == "json":
            from simulator.telemetry.requestlog import JsonFormatter

            for handler in logging.getLogger().handlers:
                handler.setFormatter(JsonFormatter())
    logging.getLogger("simulator").setLevel(level.upper())
    azure_level = max(logging.WARNING, logging.getLevelName(level.upper()))
    logging.getLogger("azure").setLevel(azure_level)
    logging.getLogger("uvicorn.error").addFilter(QUIET_ABORTS)  # a dropped connection asked for is no error


def response_store(settings: Settings) -> ResponseStore:
    """Blob Storage when storage is configured (or asked for), so every instance sees every stored response."""
    use_blob = settings.responses_store == "blob" or (
        settings.responses_store == "auto" and settings.storage_configured
    )
    if not use_blob:
        return MemoryResponseStore(settings.responses_memory_limit, settings.responses_retention_seconds)
    from simulator.responses.blob_store import BlobResponseStore

    return BlobResponseStore.connect(
        settings.responses_container,
        connection_string=settings.storage_connection_string,
        account_url=settings.storage_account_url,
        retention=settings.responses_retention_seconds,
    )


def image_urls_for(settings: Settings) -> ImageUrls:
    """Where images answered as URLs live: a Blob container when storage is configured, else this process."""
    store: ImageStore = MemoryImageStore()
    if settings.storage_configured:
        store = BlobImageStore.connect(
            settings.image_container,
            connection_string=settings.storage_connection_string,
            account_url=settings.storage_account_url,
        )
    public_url = settings.public_url or (f"https://{settings.website_hostname}" if settings.website_hostname else None)
    return ImageUrls(store, settings.image_url_ttl_seconds, public_url)


def rate_limit_config(settings: Settings) -> RateLimitConfig:
    try:
        return RateLimitConfig(
            connection_string=settings.storage_connection_string,
            account_url=None if settings.storage_connection_string else settings.table_url,
            table_name=settings.rate_limit_table,
            lease_fraction=settings.rate_limit_lease_fraction,
            lease_seconds=settings.rate_limit_lease_seconds,
            failure_mode=FailureMode(settings.rate_limit_failure_mode),
            store_timeout=settings.rate_limit_store_timeout_seconds,
            retry_interval=settings.rate_limit_retry_seconds,
            region=settings.region,
        )
    except ValueError as error:
        raise SettingsError(f"RATE_LIMIT_*: {error}") from None


def initial_config(settings: Settings) -> RuntimeConfig:
    """The runtime config at start: settings plus the deployments file."""
    defined: Mapping[str, Deployment] = {}
    if settings.deployment_config_path is not None:
        defined = load_deployments(settings.deployment_config_path)
    latency_document = load_json_setting("SIMULATOR_LATENCY_CONFIG", settings.latency_config)
    faults_document = load_json_setting("SIMULATOR_FAULTS", settings.faults)
    try:
        latency = LatencyConfig.from_settings(
            enabled=settings.latency_enabled, document=latency_document, legacy=legacy_latency(settings)
        )
        faults = FaultConfig.from_json(faults_document)
    except SettingsError as error:
        raise SettingsError(f"SIMULATOR_LATENCY_CONFIG / SIMULATOR_FAULTS: {error}") from None
    return RuntimeConfig(
        mode=settings.mode, latency=latency, deployments=MappingProxyType(dict(defined)), faults=faults
    )


def legacy_latency(settings: Settings) -> LegacyLatency:
    def pair(mean: float | None, std: float | None) -> MeanStd | None:
        return None if mean is None else MeanStd(mean, std or 0.0)

    return LegacyLatency(
        chat=pair(settings.latency_chat_mean, settings.latency_chat_std_dev),
        completions=pair(settings.latency_completions_mean, settings.latency_completions_std_dev),
        embeddings=pair(settings.latency_embeddings_mean, settings.latency_embeddings_std_dev),
        translations=pair(settings.latency_translations_mean, settings.latency_translations_std_dev),
    )


def recording_config(settings: Settings) -> RecordingConfig:
    use_blob = settings.recording_store == "blob" or (
        settings.recording_store == "auto" and settings.storage_configured
    )
    try:
        return RecordingConfig(
            directory=settings.recording_dir,
            autosave=settings.recording_autosave,
            endpoint=settings.azure_openai_endpoint,
            key=settings.azure_openai_key,
            deployment_map=parse_deployment_map(settings.recording_deployment_map),
            read_timeout=settings.recording_upstream_timeout_seconds,
            record_failures=settings.recording_record_failures,
            match_on=parse_names(settings.recording_match_on),
            ignored_fields=parse_names(settings.recording_ignored_fields),
            body_hash_threshold=settings.recording_body_hash_threshold,
            unmatched=UnmatchedPolicy(settings.recording_unmatched),
            timing_scale=settings.recording_timing_scale,
            refresh_interval=settings.recording_refresh_seconds,
            blob_connection_string=settings.storage_connection_string if use_blob else None,
            blob_account_url=settings.storage_account_url if use_blob else None,
            blob_container=settings.recording_container,
            blob_prefix=settings.recording_blob_prefix,
        )
    except ValueError as error:
        raise SettingsError(f"RECORDING_*: {error}") from None


def load_json_setting(env: str, value: str | None) -> Any:
    """A setting holding JSON inline (`{...}`) or the path of a JSON file."""
    if value is None:
        return None
    text = value
    if not value.lstrip().startswith(("{", "[")):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as error:
            raise SettingsError(f"{env}: cannot read {value}: {error.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsError(f"{env}: not valid JSON: {error}") from None


def _validator(settings: Settings) -> Callable[[RuntimeConfig], None]:
    def validate(config: RuntimeConfig) -> None:
        if config.mode is Mode.RECORD and not settings.azure_openai_endpoint:
            raise SettingsError("mode 'record' needs AZURE_OPENAI_ENDPOINT to be set on the simulator")

    return validate

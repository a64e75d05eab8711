"""The MCP server every adapter serves in the interop run: the conformance suite's fixtures.

``@modelcontextprotocol/conformance`` (0.1.16) ``server`` scenarios call fixed names: tools
``test_simple_text`` ... ``test_elicitation_sep1330_enums``, resources ``test://static-text``,
``test://static-binary``, ``test://template/{id}/data``, ``test://watched-resource``, prompts
``test_simple_prompt`` ... ``test_prompt_with_image``, plus ``logging/setLevel``,
``completion/complete`` and ``resources/(un)subscribe``. Each fixture below returns what its
scenario's description asks for. ``whoami`` (not a conformance fixture) returns the bearer
token's subject, so the foreign clients can show the adapter passed the token through.

:func:`build_verifier` trusts the two oidc-provider instances of the run (one with short-lived
tokens for the refresh check, one whose tokens outlive a conformance run), ``leeway=0`` so an
expired token is refused at once; both use audience = the MCP endpoint URL.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp_types import (
    AudioContent,
    CallToolResult,
    Completion,
    EmbeddedResource,
    EmptyResult,
    ImageContent,
    SamplingMessage,
    SetLevelRequestParams,
    SubscribeRequestParams,
    TextContent,
    TextResourceContents,
    UnsubscribeRequestParams,
)

from mcp_tools._compat import lowlevel_server
from mcp_tools._outbound import Flow
from mcp_tools.server.verifiers.base import McpTokenVerifier
from mcp_tools.server.verifiers.jwt import JWTVerifier

# A 1x1 red PNG and a 1-sample silent WAV, built here so no binary file is needed.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
WAV = (
    b"RIFF"
    + (36 + 2).to_bytes(4, "little")
    + b"WAVEfmt "
    + (16).to_bytes(4, "little")
    + (1).to_bytes(2, "little")  # PCM
    + (1).to_bytes(2, "little")  # mono
    + (8000).to_bytes(4, "little")
    + (16000).to_bytes(4, "little")
    + (2).to_bytes(2, "little")
    + (16).to_bytes(2, "little")
    + b"data"
    + (2).to_bytes(4, "little")
    + b"\x00\x00"
)
PNG_B64 = base64.b64encode(PNG).decode()
WAV_B64 = base64.b64encode(WAV).decode()

SUBSCRIPTIONS: set[str] = set()


def build_server() -> MCPServer[Any]:
    mcp: MCPServer[Any] = MCPServer("mcp-tools-interop", version="1.0")

    # -- tools ------------------------------------------------------------------------------

    @mcp.tool()
    def whoami() -> str:
        """The subject of the bearer token that reached the tool."""
        token = get_access_token()
        return f"hello {token.subject if token else 'nobody'}"

    @mcp.tool()
    def test_simple_text() -> str:
        """Returns a simple text response."""
        return "This is a simple text response for testing."

    @mcp.tool()
    def test_image_content() -> list[ImageContent]:
        """Returns a 1x1 PNG."""
        return [ImageContent(type="image", data=PNG_B64, mime_type="image/png")]

    @mcp.tool()
    def test_audio_content() -> list[AudioContent]:
        """Returns a tiny WAV file."""
        return [AudioContent(type="audio", data=WAV_B64, mime_type="audio/wav")]

    @mcp.tool()
    def test_embedded_resource() -> list[EmbeddedResource]:
        """Returns an embedded text resource."""
        resource = TextResourceContents(
            uri="test://embedded-resource",
            mime_type="text/plain",
            text="This is an embedded resource content.",
        )
        return [EmbeddedResource(type="resource", resource=resource)]

    @mcp.tool()
    def test_multiple_content_types() -> list[Any]:
        """Returns text, an image and an embedded resource."""
        resource = TextResourceContents(
            uri="test://mixed-content-resource",
            mime_type="application/json",
            text=json.dumps({"test": "data", "value": 123}),
        )
        return [
            TextContent(type="text", text="Multiple content types test:"),
            ImageContent(type="image", data=PNG_B64, mime_type="image/png"),
            EmbeddedResource(type="resource", resource=resource),
        ]

    @mcp.tool()
    async def test_tool_with_logging(ctx: Context) -> str:
        """Sends three info log notifications while it runs."""
        await ctx.log("info", "Tool execution started")
        await anyio.sleep(0.05)
        await ctx.log("info", "Tool processing data")
        await anyio.sleep(0.05)
        await ctx.log("info", "Tool execution completed")
        return "Tool with logging executed successfully"

    @mcp.tool()
    def test_error_handling() -> CallToolResult:
        """Always fails."""
        return CallToolResult(
            content=[TextContent(type="text", text="This tool intentionally returns an error for testing")],
            is_error=True,
        )

    @mcp.tool()
    async def test_tool_with_progress(ctx: Context) -> str:
        """Reports progress 0, 50 and 100 of 100."""
        for step in (0, 50, 100):
            await ctx.report_progress(step, 100)
            if step < 100:
                await anyio.sleep(0.05)
        return "Tool with progress executed successfully"

    @mcp.tool()
    async def test_sampling(prompt: str, ctx: Context) -> str:
        """Asks the client's LLM (sampling/createMessage)."""
        result = await ctx.session.create_message(
            [SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
            max_tokens=100,
            related_request_id=ctx.request_id,
        )
        content = result.content
        text = getattr(content, "text", None) or str(content)
        return f"LLM response: {text}"

    @mcp.tool()
    async def test_elicitation(message: str, ctx: Context) -> str:
        """Asks the user for a username and an email (elicitation/create)."""
        schema = {
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"},
            },
            "required": ["username", "email"],
        }
        result = await ctx.session.elicit(message, schema, related_request_id=ctx.request_id)  # type: ignore[arg-type]
        return f"User response: action={result.action}, content={json.dumps(result.content)}"

    @mcp.tool()
    async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
        """Elicitation whose schema has defaults for every primitive type (SEP-1034)."""
        schema = {
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "score": {"type": "number", "default": 95.5},
                "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
                "verified": {"type": "boolean", "default": True},
            },
        }
        result = await ctx.session.elicit(
            "Please review your details", schema, related_request_id=ctx.request_id
        )  # type: ignore[arg-type]
        return f"Elicitation completed: action={result.action}, content={json.dumps(result.content)}"

    @mcp.tool()
    async def test_elicitation_sep1330_enums(ctx: Context) -> str:
        """Elicitation with the five enum shapes of SEP-1330."""
        schema = {
            "type": "object",
            "properties": {
                "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                "titledSingle": {
                    "type": "string",
                    "oneOf": [
                        {"const": "value1", "title": "First Option"},
                        {"const": "value2", "title": "Second Option"},
                        {"const": "value3", "title": "Third Option"},
                    ],
                },
                "legacyEnum": {
                    "type": "string",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"],
                },
                "untitledMulti": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
                },
                "titledMulti": {
                    "type": "array",
                    "items": {
                        "anyOf": [
                            {"const": "value1", "title": "First Choice"},
                            {"const": "value2", "title": "Second Choice"},
                            {"const": "value3", "title": "Third Choice"},
                        ]
                    },
                },
            },
        }
        result = await ctx.session.elicit("Pick some options", schema, related_request_id=ctx.request_id)  # type: ignore[arg-type]
        return f"Elicitation completed: action={result.action}, content={json.dumps(result.content)}"

    # -- resources --------------------------------------------------------------------------

    @mcp.resource(
        "test://static-text", name="static-text", description="A static text resource", mime_type="text/plain"
    )
    def static_text() -> str:
        return "This is the content of the static text resource."

    @mcp.resource(
        "test://static-binary", name="static-binary", description="A static PNG", mime_type="image/png"
    )
    def static_binary() -> bytes:
        return PNG

    @mcp.resource(
        "test://watched-resource",
        name="watched-resource",
        description="A resource to subscribe to",
        mime_type="text/plain",
    )
    def watched() -> str:
        return "Watched resource content."

    @mcp.resource(
        "test://template/{id}/data",
        name="template",
        description="Data for an id",
        mime_type="application/json",
    )
    def template(id: str) -> str:
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})

    # -- prompts ----------------------------------------------------------------------------

    @mcp.prompt(description="A prompt without arguments")
    def test_simple_prompt() -> list[UserMessage]:
        return [UserMessage("This is a simple prompt for testing.")]

    @mcp.prompt(description="A prompt with two arguments")
    def test_prompt_with_arguments(arg1: str, arg2: str) -> list[UserMessage]:
        return [UserMessage(f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'")]

    @mcp.prompt(description="A prompt embedding a resource")
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[UserMessage]:
        resource = TextResourceContents(
            uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."
        )
        return [
            UserMessage(EmbeddedResource(type="resource", resource=resource)),
            UserMessage("Please process the embedded resource above."),
        ]

    @mcp.prompt(description="A prompt with an image")
    def test_prompt_with_image() -> list[UserMessage]:
        return [
            UserMessage(ImageContent(type="image", data=PNG_B64, mime_type="image/png")),
            UserMessage("Please analyze the image above."),
        ]

    @mcp.completion()
    async def complete(ref: Any, argument: Any, context: Any) -> Completion:
        values = [v for v in ("paris", "park", "party") if v.startswith(argument.value or "")]
        return Completion(values=values, total=len(values), has_more=False)

    # -- protocol methods MCPServer leaves to the application --------------------------------

    lowlevel = lowlevel_server(mcp)  # MCPServer keeps it private; mcp_tools._compat pins the access

    async def set_level(ctx: ServerRequestContext[Any], params: SetLevelRequestParams) -> EmptyResult:
        return EmptyResult()

    async def subscribe(ctx: ServerRequestContext[Any], params: SubscribeRequestParams) -> EmptyResult:
        SUBSCRIPTIONS.add(str(params.uri))
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams) -> EmptyResult:
        SUBSCRIPTIONS.discard(str(params.uri))
        return EmptyResult()

    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    return mcp


server = build_server()

# -- the verifier and the settings every adapter shares (from the environment) -----------------


class FirstOf(McpTokenVerifier):
    """Accept a token any of ``verifiers`` accepts (a resource served by several issuers)."""

    def __init__(self, verifiers: Sequence[McpTokenVerifier]) -> None:
        super().__init__()
        self.verifiers = list(verifiers)

    def _verify_flow(self, token: str) -> Flow[AccessToken | None]:
        for verifier in self.verifiers:
            result = yield from verifier._verify_flow(token)
            if result is not None:
                return result
        return None


def resource_url() -> str:
    return os.environ["INTEROP_RESOURCE_URL"]


def issuers() -> list[str]:
    return os.environ["INTEROP_ISSUERS"].split()


def build_verifier() -> FirstOf:
    return FirstOf(
        [
            JWTVerifier(issuer=iss, audience=resource_url(), jwks_uri=f"{iss}/jwks", leeway=0)
            for iss in issuers()
        ]
    )


SCOPES = ["notes:read"]
STATEFUL = os.environ.get("INTEROP_STATEFUL", "1") == "1"

"""A fake Alpaca that the real alpaca-py clients talk to: the msgpack market-data
streams (stock and crypto), the JSON trade-update stream and the REST API (trading and
historical bars), on one aiohttp server bound to 127.0.0.1.

It runs on a loop in a thread of its own, so a test's loop (or a bench's) is measured
alone; every control method here is called from the test's thread and is thread-safe.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgpack
from aiohttp import WSMsgType, web

KEY = "PKFAKE0000000000"
SECRET = "fake-secret-4f9a2c7e1b"
STOCK_PATH = "/v2/iex"
CRYPTO_PATH = "/v1beta3/crypto/us"
TRADE_PATH = "/stream"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def trade_msg(symbol: str, price: float, size: float, ts: datetime, trade_id: int = 1,
              ) -> dict[str, Any]:
    return {"T": "t", "S": symbol, "i": trade_id, "x": "V", "p": price, "s": size,
            "c": ["@"], "z": "C", "t": ts}


def quote_msg(symbol: str, bid: float, ask: float, ts: datetime, bid_size: float = 1,
              ask_size: float = 1) -> dict[str, Any]:
    return {"T": "q", "S": symbol, "bx": "V", "bp": bid, "bs": bid_size, "ax": "V",
            "ap": ask, "as": ask_size, "c": ["R"], "z": "C", "t": ts}


@dataclass
class DataClient:
    ws: web.WebSocketResponse
    path: str
    subscribed: dict[str, set[str]] = field(
        default_factory=lambda: {"trades": set(), "quotes": set(), "bars": set()})


class FakeAlpaca:
    def __init__(self) -> None:
        self.key, self.secret = KEY, SECRET
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="fake-alpaca")
        self._runner: web.AppRunner | None = None
        self.port = 0
        # market data
        self.data_clients: list[DataClient] = []
        self.data_connections = 0  # accepted websocket connections, ever
        self.refuse_data_auth = False
        self.mute_data = False  # connect and authenticate, then say nothing at all
        self.drop_after_subscribe = False  # a disconnect storm: every connection ends at once
        self.bars: dict[str, list[dict[str, Any]]] = {}  # symbol -> REST bars (JSON)
        self.bar_requests: list[dict[str, str]] = []
        # trading
        self.account_number = "PA3FAKE0001"
        self.cash = 100_000.0
        self.orders: dict[str, dict[str, Any]] = {}
        self.positions: dict[str, dict[str, Any]] = {}
        self.trade_clients: list[web.WebSocketResponse] = []
        self.requests: list[tuple[str, str]] = []
        self.assets: list[dict[str, Any]] = [
            _asset("AAPL", "Apple Inc.", "us_equity"), _asset("MSFT", "Microsoft Corp.",
                                                              "us_equity"),
            _asset("NVDA", "NVIDIA Corporation", "us_equity"),
            _asset("APLD", "Applied Digital Corp.", "us_equity"),
            _asset("PINE", "Alpine Income Property Trust", "us_equity"),
            _asset("ETH/USD", "Ethereum / US Dollar", "crypto", min_trade_increment=0.000000001,
                   price_increment=0.1),
            _asset("DELIST", "Delisted Co.", "us_equity", tradable=False)]
        self.fail_next: list[tuple[int, int, str]] = []  # (status, code, message)
        self.order_response_delay_s = 0.0  # the order is made, the answer comes this late
        self.silent_rest = False  # requests hang (until the client gives up)
        self.reject_orders: str = ""  # non-empty: orders are rejected by a trade update
        self._release = asyncio.Event()
        self._ids = itertools.count(1)

    # -- life --------------------------------------------------------------------------
    def start(self) -> FakeAlpaca:
        self._thread.start()
        self.call(self._start())
        return self

    def stop(self) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FakeAlpaca:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, fn: Callable[[], Any]) -> Any:
        async def wrapped() -> Any:
            return fn()

        return self.call(wrapped())

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_get(STOCK_PATH, self._data_ws)
        app.router.add_get(CRYPTO_PATH, self._data_ws)
        app.router.add_get(TRADE_PATH, self._trade_ws)
        app.router.add_get("/v2/stocks/bars", self._bars)
        app.router.add_get("/v1beta3/crypto/us/bars", self._bars)
        app.router.add_get("/v2/account", self._account)
        app.router.add_get("/v2/clock", self._clock)
        app.router.add_get("/v2/positions", self._positions)
        app.router.add_get("/v2/assets", self._assets)
        app.router.add_post("/v2/orders", self._submit)
        app.router.add_get("/v2/orders", self._list_orders)
        app.router.add_get("/v2/orders:by_client_order_id", self._by_client_id)
        app.router.add_get("/v2/orders/{order_id}", self._get_order)
        app.router.add_patch("/v2/orders/{order_id}", self._replace)
        app.router.add_delete("/v2/orders/{order_id}", self._cancel)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _stop(self) -> None:
        self._release.set()
        for client in list(self.data_clients):
            await client.ws.close()
        for ws in list(self.trade_clients):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- addresses ---------------------------------------------------------------------
    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stock_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{STOCK_PATH}"

    @property
    def crypto_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{CRYPTO_PATH}"

    @property
    def trade_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{TRADE_PATH}"

    def settings_toml(self) -> str:
        """An ``[alpaca.endpoints]`` section pointing every endpoint here."""
        return (f'[alpaca.endpoints]\ntrading = "{self.http_url}"\ndata = "{self.http_url}"\n'
                f'stock_stream = "{self.stock_url}"\ncrypto_stream = "{self.crypto_url}"\n'
                f'trade_stream = "{self.trade_url}"\n')

    # -- market data stream ------------------------------------------------------------
    async def _data_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.data_connections += 1
        await ws.send_bytes(msgpack.packb([{"T": "success", "msg": "connected"}]))
        client = DataClient(ws, request.path)
        try:
            first = await ws.receive()
            if first.type != WSMsgType.BINARY:
                return ws
            auth = msgpack.unpackb(first.data)
            if (self.refuse_data_auth or auth.get("key") != self.key
                    or auth.get("secret") != self.secret):
                await ws.send_bytes(msgpack.packb([{"T": "error", "code": 402,
                                                    "msg": "auth failed"}]))
                await ws.close()
                return ws
            await ws.send_bytes(msgpack.packb([{"T": "success", "msg": "authenticated"}]))
            self.data_clients.append(client)
            async for frame in ws:
                if frame.type != WSMsgType.BINARY:
                    continue
                message = msgpack.unpackb(frame.data)
                action = message.get("action")
                for channel in ("trades", "quotes", "bars"):
                    symbols = set(message.get(channel, []))
                    if action == "subscribe":
                        client.subscribed[channel] = symbols
                    elif action == "unsubscribe":
                        client.subscribed[channel] -= symbols
                if not self.mute_data:
                    await ws.send_bytes(msgpack.packb([{
                        "T": "subscription",
                        **{k: sorted(v) for k, v in client.subscribed.items()}}]))
                if self.drop_after_subscribe:
                    await ws.close(code=1011)
        finally:
            if client in self.data_clients:
                self.data_clients.remove(client)
        return ws

    def subscriptions(self, channel: str = "trades") -> set[str]:
        """What the connected data clients are subscribed to, together."""
        return self.run(lambda: set().union(*(c.subscribed[channel]
                                              for c in self.data_clients)))

    def authenticated_data_clients(self) -> int:
        return self.run(lambda: len(self.data_clients))

    def push(self, messages: list[dict[str, Any]], path: str = STOCK_PATH) -> None:
        """Send one frame of market data messages to every data client on ``path``."""
        frame = msgpack.packb(messages, datetime=True)
        self.push_frames([frame], path)

    def push_frames(self, frames: list[bytes], path: str = STOCK_PATH) -> None:
        async def send() -> None:
            for client in list(self.data_clients):
                if client.path == path:
                    for frame in frames:
                        await client.ws.send_bytes(frame)

        self.call(send(), timeout=120)

    def drop_data_clients(self) -> None:
        """Close every market-data connection (the server going away)."""
        async def drop() -> None:
            for client in list(self.data_clients):
                await client.ws.close(code=1011)

        self.call(drop())

    # -- historical bars -----------------------------------------------------------------
    async def _bars(self, request: web.Request) -> web.Response:
        problem = await self._gate(request)
        if problem is not None:
            return problem
        query = dict(request.query)
        self.bar_requests.append(query)
        start = _parse_time(query["start"]) if "start" in query else None
        end = _parse_time(query["end"]) if "end" in query else None
        out: dict[str, list[dict[str, Any]]] = {}
        for symbol in query.get("symbols", "").split(","):
            rows = [bar for bar in self.bars.get(symbol, [])
                    if (start is None or _parse_time(bar["t"]) >= start)
                    and (end is None or _parse_time(bar["t"]) < end)]
            if rows:
                out[symbol] = rows
        page = int(query.get("page_token", "0") or 0)
        limit = 2  # small pages, so the SDK's paging is exercised
        flat = [(s, b) for s, rows in out.items() for b in rows]
        chunk = flat[page * limit:(page + 1) * limit]
        body: dict[str, Any] = {"bars": {}, "next_page_token": None}
        for symbol, bar in chunk:
            body["bars"].setdefault(symbol, []).append(bar)
        if (page + 1) * limit < len(flat):
            body["next_page_token"] = str(page + 1)
        return web.json_response(body)

    # -- trading REST --------------------------------------------------------------------
    async def _gate(self, request: web.Request) -> web.Response | None:
        """Auth, injected failures and silence, for every REST call."""
        self.requests.append((request.method, request.path))
        if self.silent_rest:
            await self._release.wait()
        if (request.headers.get("APCA-API-KEY-ID") != self.key
                or request.headers.get("APCA-API-SECRET-KEY") != self.secret):
            return web.json_response({"code": 40110000, "message": "request is not authorized"},
                                     status=401)
        if self.fail_next:
            status, code, message = self.fail_next.pop(0)
            return web.json_response({"code": code, "message": message}, status=status)
        return None

    async def _account(self, request: web.Request) -> web.Response:
        problem = await self._gate(request)
        if problem is not None:
            return problem
        return web.json_response({
            "id": "a1b2c3", "account_number": self.account_number, "status": "ACTIVE",
            "currency": "USD", "cash": f"{self.cash:.2f}", "buying_power": f"{self.cash * 2:.2f}",
            "equity": f"{self.cash:.2f}", "portfolio_value": f"{self.cash:.2f}"})

    async def _clock(self, request: web.Request) -> web.Response:
        problem = await self._gate(request)
        if problem is not None:
            return problem
        now = datetime.now(UTC)
        return web.json_response({"timestamp": iso(now), "is_open": True,
                                  "next_open": iso(now), "next_close": iso(now)})

    async def _positions(self, request: web.Request) -> web.Response:
        problem = await self._gate(request)
        if problem is not None:
            return problem
        return web.json_response([p for p in self.positions.values() if float(p["qty"]) != 0])

    async def _assets(self, request: web.Request) -> web.Response:
        problem = await self._gate(request)
        if problem is not None:
            return problem
        return web.json_response(self.assets)

    async def _submit(self, request: web.Request) -> web.Response:
        problem = await self._gate(request)
        if problem is not None:
            return problem
        body = await request.json()
        cid = body.get("client_order_id") or str(uuid.uuid4())
        if any(o["client_order_id"] == cid for o in self.orders.values()):
            return web.json_response({"code": 40010001,
                                      "message": "client_order_id must be unique"}, status=422)
        now = iso(datetime.now(UTC))
        order = {"id": str(uuid.uuid4()), "client_order_id": cid, "created_at": now,
                 "updated_at": now, "submitted_at": now, "filled_at": None,
                 "symbol": body["symbol"], "asset_class": "us_equity",
                 "qty": str(body["qty"]), "filled_qty": "0", "filled_avg_price": None,
                 "order_class": body.get("order_class", "simple") or "simple",
                 "order_type": body["type"], "type": body["type"], "side": body["side"],
                 "time_in_force": body["time_in_force"], "status": "new",
                 "limit_price": body.get("limit_price"), "stop_price": body.get("stop_price"),
                 "trail_price": body.get("trail_price"),
                 "trail_percent": body.get("trail_percent"),
                 "extended_hours": False, "legs": None}
        self.orders[order["id"]] = order
        if order["order_class"] == "bracket":
            order["legs"] = [self._leg(order, "limit", limit_price=body["take_profit"][
                "limit_price"]), self._leg(order, "stop", stop_price=body["stop_loss"][
                "stop_price"])]
        if self.reject_orders:
            order["status"] = "rejected"
            await self._trade_event("rejected", order)
        else:
            await self._trade_event("new", order)
        if self.order_response_delay_s:
            await asyncio.sleep(self.order_response_delay_s)
        return web.json_response(order)

    def _leg(self, parent: dict[str, Any], kind: str, **prices: Any) -> dict[str, Any]:
        leg = {**parent, "id": str(uuid.uuid4()), "client_order_id": str(uuid.uuid4()),
               "order_class": "bracket", "order_type": kind, "type": kind,
               "side": "sell" if parent["side"] == "buy" else "buy", "status": "held",
               "limit_price": None, "stop_price": None, "legs": None,
               "parent_id": parent["id"], "time_in_force": "gtc",
               **{k: str(v) for k, v in prices.items()}}
        self.orders[leg["id"]] = leg
        return leg

    async def _list_orders(self, request: web.Request) -> web.Response:
        problem = await self._gate(request)
        if problem is not None:
            return problem
        status = request.query.get("status", "open")
        done = {"filled", "canceled", "rejected", "expired", "replaced"}
        rows = [o for o in self.orders.values()
                if status == "all" or (o["status"] not in done) == (status == "open")]
        return web.json_response(rows)

    async def _by_client_id(self, request: web.Request) -> web.Response:
        problem = await self._gate(request)
        if problem is not None:
            return problem
        cid = request.query.get("client_order_id")
        for order in self.orders.values():
            if order["client_order_id"] == cid:
                return web.json_response(order)
        return web.json_response({"code": 40410000, "message": "order not found"}, status=404)

    async def _get_order(self, request: web.Request) -> web.Response:
        problem = await self._gate(request)
        if problem is not None:
            return problem
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            return web.json_response({"code": 40410000, "message": "order not found"},
                                     status=404)
        return web.json_response(order)

    async def _replace(self, request: web.Request) -> web.Response:
        problem = await self._gate(request)
        if problem is not None:
            return problem
        old = self.orders.get(request.match_info["order_id"])
        if old is None or old["status"] not in ("new", "accepted", "partially_filled"):
            return web.json_response({"code": 42210000, "message": "order is not open"},
                                     status=422)
        body = await request.json()
        now = iso(datetime.now(UTC))
        new = {**old, "id": str(uuid.uuid4()), "replaces": old["id"], "created_at": now,
               "updated_at": now, "status": "new",
               "client_order_id": body.get("client_order_id") or str(uuid.uuid4())}
        for name in ("qty", "limit_price", "stop_price"):
            if body.get(name) is not None:
                new[name] = str(body[name])
        old["status"], old["replaced_by"] = "replaced", new["id"]
        self.orders[new["id"]] = new
        await self._trade_event("replaced", old)
        await self._trade_event("new", new)
        return web.json_response(new)

    async def _cancel(self, request: web.Request) -> web.Response:
        problem = await self._gate(request)
        if problem is not None:
            return problem
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            return web.json_response({"code": 40410000, "message": "order not found"},
                                     status=404)
        if order["status"] in ("filled", "canceled", "rejected", "expired", "replaced"):
            return web.json_response({"code": 42210000,
                                      "message": f"order is already {order['status']}"},
                                     status=422)
        order["status"] = "canceled"
        order["updated_at"] = iso(datetime.now(UTC))
        await self._trade_event("canceled", order)
        return web.Response(status=204)

    # -- trade updates -------------------------------------------------------------------
    async def _trade_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive()
        auth = json.loads(first.data) if first.type in (WSMsgType.TEXT, WSMsgType.BINARY) else {}
        data = auth.get("data", {})
        ok = data.get("key_id") == self.key and data.get("secret_key") == self.secret
        await ws.send_str(json.dumps({"stream": "authorization", "data": {
            "status": "authorized" if ok else "unauthorized", "action": "authenticate"}}))
        if not ok:
            await ws.close()
            return ws
        self.trade_clients.append(ws)
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    message = json.loads(frame.data)
                    if message.get("action") == "listen":
                        await ws.send_str(json.dumps({"stream": "listening", "data": {
                            "streams": message["data"]["streams"]}}))
        finally:
            if ws in self.trade_clients:
                self.trade_clients.remove(ws)
        return ws

    def drop_trade_clients(self) -> None:
        """Close every trade-update connection."""
        async def drop() -> None:
            for ws in list(self.trade_clients):
                await ws.close(code=1011)

        self.call(drop())

    def trade_stream_clients(self) -> int:
        return self.run(lambda: len(self.trade_clients))

    async def _trade_event(self, event: str, order: dict[str, Any], **extra: Any) -> None:
        payload = {"stream": "trade_updates", "data": {
            "event": event, "order": dict(order), "timestamp": iso(datetime.now(UTC)),
            **extra}}
        for ws in list(self.trade_clients):
            await ws.send_str(json.dumps(payload))

    def fill(self, order_id: str, qty: float, price: float) -> None:
        """Fill ``qty`` of an open order at ``price``: the order, the position and a
        ``partial_fill`` or ``fill`` trade update move together."""
        async def do() -> None:
            order = self.orders[order_id]
            filled = float(order["filled_qty"])
            avg = float(order["filled_avg_price"] or 0)
            total = filled + qty
            order["filled_avg_price"] = str(round((avg * filled + price * qty) / total, 6))
            order["filled_qty"] = _num(total)
            done = total >= float(order["qty"])
            order["status"] = "filled" if done else "partially_filled"
            now = iso(datetime.now(UTC))
            order["updated_at"] = now
            if done:
                order["filled_at"] = now
            signed = qty if order["side"] == "buy" else -qty
            position_qty = self._move_position(order["symbol"], signed, price)
            await self._trade_event("fill" if done else "partial_fill", order, price=str(price),
                                    qty=_num(qty), position_qty=_num(position_qty),
                                    execution_id=str(uuid.uuid4()))
            if done:
                for leg in order.get("legs") or ():
                    self.orders[leg["id"]]["status"] = "new"
                parent = self.orders.get(order.get("parent_id") or "")
                for leg in (parent or {}).get("legs") or ():
                    sibling = self.orders[leg["id"]]
                    if sibling["id"] != order["id"] and sibling["status"] in ("new", "held"):
                        sibling["status"] = "canceled"
                        await self._trade_event("canceled", sibling)

        self.call(do())

    def set_position(self, symbol: str, qty: float, price: float) -> None:
        self.run(lambda: self._move_position(symbol, qty, price, absolute=True))

    def _move_position(self, symbol: str, qty: float, price: float,
                       absolute: bool = False) -> float:
        current = self.positions.get(symbol)
        held = 0.0 if current is None or absolute else float(current["qty"])
        new = held + qty
        self.positions[symbol] = {
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)), "symbol": symbol,
            "exchange": "NASDAQ", "asset_class": "us_equity", "avg_entry_price": str(price),
            "qty": _num(new), "side": "long" if new >= 0 else "short",
            "cost_basis": str(abs(new) * price), "market_value": str(abs(new) * price)}
        return new

    def add_order(self, symbol: str, side: str, qty: float, *, client_order_id: str,
                  order_type: str = "limit", limit_price: float | None = None,
                  status: str = "new") -> str:
        """An order placed elsewhere (or while Bracket was down)."""
        now = iso(datetime.now(UTC))
        order = {"id": str(uuid.uuid4()), "client_order_id": client_order_id,
                 "created_at": now, "updated_at": now, "submitted_at": now, "filled_at": None,
                 "symbol": symbol, "asset_class": "us_equity", "qty": _num(qty),
                 "filled_qty": "0", "filled_avg_price": None, "order_class": "simple",
                 "order_type": order_type, "type": order_type, "side": side,
                 "time_in_force": "day", "status": status,
                 "limit_price": None if limit_price is None else str(limit_price),
                 "stop_price": None, "extended_hours": False, "legs": None}
        self.run(lambda: self.orders.__setitem__(order["id"], order))
        return order["id"]

    def order_by_client_id(self, cid: str) -> dict[str, Any] | None:
        return self.run(lambda: next((o for o in self.orders.values()
                                      if o["client_order_id"] == cid), None))

    def orders_with_client_id(self, cid: str) -> int:
        return self.run(lambda: sum(o["client_order_id"] == cid for o in self.orders.values()))


def _asset(symbol: str, name: str, kind: str, tradable: bool = True,
           **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)), "class": kind,
            "exchange": "CRYPTO" if kind == "crypto" else "NASDAQ", "symbol": symbol,
            "name": name, "status": "active", "tradable": tradable, "marginable": True,
            "shortable": kind != "crypto", "easy_to_borrow": True, "fractionable": True,
            **extra}


def _num(value: float) -> str:
    return f"{value:g}"


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

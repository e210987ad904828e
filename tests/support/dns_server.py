"""A small authoritative-style DNS server on 127.0.0.1 (UDP and TCP) for tests.

Built with dnspython's message API. Answers come from ``answer(name, rdtype)``, which the
test gives: a list of rdata texts (presentation form, e.g. ``'"v=spf1" " -all"'`` for a TXT
record of two strings), ``[]`` for "no such record" (NOERROR, no answer: NODATA), ``None``
for NXDOMAIN, ``"servfail"`` for SERVFAIL, ``"drop"`` to send nothing (the client times
out). Every question is recorded in ``queries`` as ``(name, rdtype)``.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Answer = list[str] | str | None
AnswerFn = Callable[[str, str], Answer]


@dataclass
class DnsServer:
    answer: AnswerFn
    queries: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0
    ttl: int = 0  # answers are never cached by anyone (tests ask again at once)

    def respond(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        found = self.answer(name, rdtype)
        if found == "drop":
            return None
        if found == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif found is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif isinstance(found, list) and found:
            rrset = dns.rrset.RRset(question.name, dns.rdataclass.IN, question.rdtype)
            for text in found:
                rrset.add(dns.rdata.from_text(dns.rdataclass.IN, question.rdtype, text), self.ttl)
            response.answer.append(rrset)
        return response.to_wire()

    @property
    def address(self) -> str:
        """The PORTAL_DNS_RESOLVERS value pointing at this server."""
        return f"127.0.0.1:{self.port}"


@contextmanager
def dns_server(answer: AnswerFn) -> Iterator[DnsServer]:
    """Serve ``answer`` on 127.0.0.1 (UDP and TCP, one free port) from threads."""
    server = DnsServer(answer)

    class Udp(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            reply = server.respond(data)
            if reply is not None:
                sock.sendto(reply, self.client_address)

    class Tcp(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            head = sock.recv(2)
            if len(head) < 2:
                return
            size = int.from_bytes(head, "big")
            data = b""
            while len(data) < size:
                chunk = sock.recv(size - len(data))
                if not chunk:
                    return
                data += chunk
            reply = server.respond(data)
            if reply is not None:
                sock.sendall(len(reply).to_bytes(2, "big") + reply)

    class TcpServer(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    class UdpServer(socketserver.ThreadingUDPServer):
        daemon_threads = True

    for _ in range(50):  # one port free for both UDP and TCP
        udp = UdpServer(("127.0.0.1", 0), Udp)
        server.port = udp.server_address[1]
        try:
            tcp = TcpServer(("127.0.0.1", server.port), Tcp)
            break
        except OSError:
            udp.server_close()
    else:
        raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        for s in (udp, tcp)
    ]
    for thread in threads:
        thread.start()
    try:
        yield server
    finally:
        for s in (udp, tcp):
            s.shutdown()
            s.server_close()


def zone_answers(records: dict[tuple[str, str], list[str]]) -> AnswerFn:
    """An answer function from a fixed table: names in it without the type get NODATA,
    names not in it at all NXDOMAIN."""
    names = {name for name, _ in records}

    def answer(name: str, rdtype: str) -> Answer:
        if (name, rdtype) in records:
            return records[(name, rdtype)]
        return [] if name in names else None

    return answer

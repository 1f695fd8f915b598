# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""A TCP proxy a test can cut or black-hole, to fail a real server."""

import socket
import threading


class TCPProxy(object):
    """Forward 127.0.0.1:<port> to (host, port) until cut or black-holed.

    ``cut()`` closes the listening socket and every open connection, so
    clients see the server go away; ``restore()`` listens again on the same
    port. ``black_hole()`` keeps accepting connections and keeps every
    connection open, but from then on nothing reaches either side: what a
    client sends is read and dropped, and it never gets an answer, as from
    a server that hangs or a network that silently drops packets.
    ``forward()`` ends the black hole for new connections (the ones
    accepted meanwhile stay silent).

    :param target_port: None for a proxy that is a black hole from the
        start and forwards nowhere.
    """

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = None
        self._listener = None
        self._conns = set()
        self._lock = threading.Lock()
        self._black_hole = target_port is None

    def black_hole(self):
        self._black_hole = True
        return self

    def forward(self):
        self._black_hole = False
        return self

    def _swallow(self, sock):
        """Read and drop what sock sends until it is closed."""
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass
        finally:
            self._close(sock)

    def start(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('127.0.0.1', self.port or 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,),
                         daemon=True).start()
        return self

    restore = start

    def _accept(self, listener):
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return
            if self._black_hole:
                with self._lock:
                    self._conns.add(client)
                threading.Thread(target=self._swallow, args=(client,),
                                 daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst),
                                 daemon=True).start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not self._black_hole:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._close(sock)

    def _close(self, sock):
        with self._lock:
            self._conns.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def cut(self):
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone
            # leaves the socket listening until that call returns.
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            conns = list(self._conns)
        for sock in conns:
            self._close(sock)

    stop = cut

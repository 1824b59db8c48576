#!/usr/bin/env python3
"""ctest `haproxy`: etc/haproxy/heartstream.cfg in front of two heartstreamd on the demo model, all on
loopback. Songs spread over both daemons; a full daemon gets no new songs until it has room again;
a draining daemon (SIGTERM) keeps streaming its songs and gets no new ones; killing a daemon mid-song
ends only its songs, and new songs go to the other.
Usage: haproxy_test.py HEARTSTREAM_CLI HEARTSTREAMD HAPROXY_CFG. Exits 77 (skipped) without haproxy."""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from fleet import (LONG_SONG_MS, SHORT_SONG_MS, Daemon, Haproxy, PostSong, WebSocketSong, wait_until)

CLI, DAEMON, CONFIG = sys.argv[1:4] if len(sys.argv) == 4 else (None, None, None)


class HaproxyFleetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = f"{WORK}/demo-model"
        subprocess.run([CLI, "make-demo-model", cls.model], check=True, stdout=subprocess.DEVNULL)

    def setUp(self):
        self.songs, self.daemons, self.haproxy = [], [], None
        self.work = os.path.join(WORK, self._testMethodName)  # its processes' configurations and logs
        os.mkdir(self.work)

    def tearDown(self):
        for song in self.songs:
            song.close()
        if self.haproxy:
            self.haproxy.stop()
        for daemon in self.daemons:
            daemon.stop()

    def start_fleet(self, *max_sessions):
        """One daemon per entry (its server.max_sessions), HAProxy once every daemon is UP in it."""
        self.daemons = [Daemon(DAEMON, self.model, self.work, f"hs{i + 1}", n) for i, n in enumerate(max_sessions)]
        self.haproxy = Haproxy(CONFIG, self.work, self.daemons)
        self.haproxy.wait_states({name: "UP" for name in self.haproxy.server_names})

    def song(self, kind, port, length_ms=LONG_SONG_MS):
        song = kind(port, length_ms)
        self.songs.append(song)
        return song

    def wait_sessions(self, expected):
        """Waits until the daemons run `expected` songs ([songs on hs1, songs on hs2])."""
        wait_until(lambda: [d.sessions_active() for d in self.daemons] == expected,
                   f"songs per daemon {expected}")

    def test_songs_spread_over_both_daemons_by_fewest_streams(self):
        self.start_fleet(4, 4)
        self.song(WebSocketSong, self.haproxy.port).wait_started()
        second = self.song(PostSong, self.haproxy.port)
        second.wait_started()
        self.wait_sessions([1, 1])
        second.close()
        wait_until(lambda: sum(d.sessions_active() for d in self.daemons) == 1, "the second song to end")
        # The daemon left without a song gets the next one (round robin would pick the first song's).
        self.song(WebSocketSong, self.haproxy.port).wait_started()
        self.wait_sessions([1, 1])

    def test_a_full_daemon_gets_no_new_songs_until_it_has_room(self):
        self.start_fleet(1, 4)
        direct = self.song(WebSocketSong, self.daemons[0].port)  # fills hs1 behind HAProxy's back
        direct.wait_started()
        self.haproxy.wait_states({"hs1": "DOWN", "hs2": "UP"})
        # hs1 has no connection through HAProxy, so leastconn alone would pick it.
        for kind in (WebSocketSong, PostSong, WebSocketSong):
            self.song(kind, self.haproxy.port).wait_started()
        self.wait_sessions([1, 3])
        direct.close()
        self.haproxy.wait_states({"hs1": "UP"})
        self.song(WebSocketSong, self.haproxy.port).wait_started()
        self.wait_sessions([1, 3])

    def daemon_of_only_song(self):
        """The index of the daemon running the one song of the fleet."""
        wait_until(lambda: sum(d.sessions_active() for d in self.daemons) == 1, "a song on a daemon")
        return 0 if self.daemons[0].sessions_active() == 1 else 1

    def test_a_draining_daemon_keeps_its_songs_and_gets_no_new_ones(self):
        self.start_fleet(4, 4)
        running = self.song(WebSocketSong, self.daemons[0].port)  # hs1 has no connection through HAProxy
        running.wait_started()
        self.daemons[0].kill(signal.SIGTERM)  # drains for server.drain_timeout_s (30 s)
        self.haproxy.wait_states({"hs1": "DOWN"})
        for kind in (WebSocketSong, PostSong):
            self.song(kind, self.haproxy.port).wait_started()
        self.assertEqual(self.daemons[1].sessions_active(), 2)
        after_drain = running.audio_bytes  # half a second of Opus more (128 kb/s: 16 KB a second)
        running.wait(lambda s: s.audio_bytes > after_drain + 8000 or s.ended, "more audio from the draining daemon")
        self.assertIsNone(running.ended)

    def test_killing_a_daemon_ends_only_its_songs(self):
        self.start_fleet(4, 4)
        first = self.song(WebSocketSong, self.haproxy.port)
        first.wait_started()
        on_first = self.daemon_of_only_song()
        second = self.song(PostSong, self.haproxy.port)
        second.wait_started()
        self.wait_sessions([1, 1])
        survivor = self.daemons[1 - on_first]
        self.daemons[on_first].kill()
        first.wait(lambda s: s.ended, "the killed daemon's song to end")
        self.assertEqual(first.ended, "closed")
        # The other song goes on: half a second of Opus more.
        after_kill = second.audio_bytes
        second.wait(lambda s: s.audio_bytes > after_kill + 8000 or s.ended, "more audio on the other daemon")
        self.assertIsNone(second.ended)
        # New songs, before and after HAProxy has seen the daemon gone, go to the survivor.
        for kind in (WebSocketSong, PostSong):
            song = self.song(kind, self.haproxy.port, SHORT_SONG_MS)
            song.wait(lambda s: s.ended, "a new song to end")
            self.assertEqual(song.ended, "done", song.events)
        self.haproxy.wait_states({self.haproxy.server_names[on_first]: "DOWN"})
        self.song(WebSocketSong, self.haproxy.port).wait_started()
        self.assertEqual(survivor.sessions_active(), 2)


if __name__ == "__main__":
    if CLI is None:
        sys.exit(__doc__)
    if shutil.which("haproxy") is None:
        print("SKIP: haproxy not found (apt-get install haproxy; .ci/setup does)")
        sys.exit(77)
    WORK = tempfile.mkdtemp(prefix="hs-haproxy-")
    try:
        passed = unittest.main(argv=sys.argv[:1], exit=False, verbosity=2).result.wasSuccessful()
        if not passed:  # the logs of every daemon and HAProxy, tests in order
            for log in sorted(glob.glob(f"{WORK}/*/*.log")):
                with open(log, errors="replace") as f:
                    print(f"--- {log}\n{f.read()[-4000:]}")
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(0 if passed else 1)

// Real-time pacing in lockstep (issue 12, BATCHING.md "Admission"): which songs a round of the
// engine worker steps. Pure: the worker gives each song's lead and asks.
//
// A song's lead is the audio it has generated (frames × 80 ms) beyond what a 1× listener has played
// since its first audio. A song at least `lookahead_s` ahead holds. Below that it is Ready, and a
// round runs only while some song is Due: not playing yet, or less than lookahead_s − band ahead.
// Such a round steps every Ready song with the Due ones. Stepping each song the moment its own
// lead fell below the look-ahead spread the songs over many small rounds (H100 loadtest, 64 songs:
// 1813 rounds of 27 songs on average for 751 frames each, loadtest_chunk_h100.json), although a
// batched step costs little more for 64 songs than for 27; songs stepped together stay together.
#pragma once

#include <optional>

namespace hs::daemon {

enum class Pace {
  Hold,   // far enough ahead (or its listener is full): sits the round out
  Ready,  // steps if the round runs
  Due,    // makes the round run
};

// The band below the look-ahead in which a song waits for a Due one: 1 s, or half a shorter
// look-ahead (0 for none: each song then steps alone as soon as it is below).
double lockstep_band_s(double lookahead_s);

// A playing song's pace from its lead over playback.
Pace song_pace(double ahead_s, double lookahead_s, double band_s);

// Whether a song of `pace` steps in a round where `any_due` says some song is Due.
inline bool steps_in_round(Pace pace, bool any_due) { return pace == Pace::Due || (pace == Pace::Ready && any_due); }

// What competes with a song for the engine while it starts (EngineWorker::start).
struct SongStart {
  int others = 0;                     // other songs running or starting with it
  bool others_starting = false;       // some of them have not played yet
  std::optional<double> round_share;  // a round with them all, predicted, / the frame period; none: unmeasured
};

// The share of the frame period under which a song beside others starts playing at once.
inline constexpr double kQuietStartShare = 0.5;
// The audio a song starting in a crowd holds back before it plays.
inline constexpr double kCrowdPrerollS = 1.0;

// How much audio a song holds back before its first is sent, in seconds. None (its first chunk,
// 320 ms, goes out at once) when nothing else starts beside it and rounds with it keep
// kQuietStartShare of the frame period or less (or it is alone); else kCrowdPrerollS, so that a song
// starting in a crowd or on a busy or not yet measured engine has that much in hand when it starts
// to play. Its next chunks come while that plays: with 320 ms in hand the rounds and codec calls of
// a crowd's start-up ran past it (CPU demo, 10 songs within 1 s: 1-3 stalls per song at the ends of
// the 4, 8 and 16-frame chunks). Its chunks, and so its audio, stay those of a song alone.
double start_preroll_s(const SongStart& start);

}  // namespace hs::daemon

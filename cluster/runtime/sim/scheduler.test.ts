// The event queue's order under cancellation (lesson 1): whatever is scheduled and cancelled,
// the events that run are the ones not cancelled, in (time, scheduling order), exactly as a
// sorted list would give them. Replays thousands of seeded operations against that list.

import { describe, expect, it } from "vitest";
import { Random } from "./random.ts";
import { Scheduler, Task, type ScheduledEvent } from "./scheduler.ts";

/** A task that records its label when it runs (the simulator's message arrivals are tasks). */
class Labelled extends Task {
  constructor(
    private readonly label: number,
    private readonly ran: number[],
  ) {
    super();
  }

  run(): void {
    this.ran.push(this.label);
  }
}

interface Expected {
  label: number;
  time: number;
  event: ScheduledEvent;
}

/** Schedules, cancels and runs at random; returns what ran and what a sorted list says. */
function replay(seed: number): { ran: number[]; expected: number[] } {
  const random = new Random(`scheduler:${seed}`);
  const scheduler = new Scheduler();
  const waiting: Expected[] = [];
  const ran: number[] = [];
  const expected: number[] = [];
  let label = 0;
  for (let step = 0; step < 2_000; step += 1) {
    const choice = random.integer(10);
    if (choice < 6) {
      // Few distinct times, so that ties (broken by scheduling order) are common.
      const time = scheduler.now + random.integer(20);
      const mine = (label += 1);
      // Callbacks and tasks alike: one order for both.
      let event: ScheduledEvent;
      if (random.chance(0.5)) event = scheduler.at(time, () => ran.push(mine));
      else {
        const task = new Labelled(mine, ran);
        scheduler.schedule(task, time);
        event = task;
      }
      waiting.push({ label: mine, time, event });
    } else if (choice < 9 && waiting.length > 0) {
      const [cancelled] = waiting.splice(random.integer(waiting.length), 1);
      scheduler.cancel(cancelled!.event);
      scheduler.cancel(cancelled!.event); // twice: the second is a no-op
    } else {
      const until = scheduler.now + random.integer(10);
      const due = waiting.filter((entry) => entry.time <= until);
      // A stable sort by time keeps scheduling order among equal times.
      for (const entry of due.sort((a, b) => a.time - b.time)) expected.push(entry.label);
      waiting.splice(0, waiting.length, ...waiting.filter((entry) => entry.time > until));
      scheduler.runUntil(until);
    }
  }
  scheduler.runUntil(Number.POSITIVE_INFINITY);
  for (const entry of waiting.sort((a, b) => a.time - b.time)) expected.push(entry.label);
  return { ran, expected };
}

describe("scheduler", () => {
  it("runs exactly the events not cancelled, in time then scheduling order (50 seeds)", () => {
    for (let seed = 1; seed <= 50; seed += 1) {
      const { ran, expected } = replay(seed);
      expect(ran, `seed ${seed}`).toEqual(expected);
      expect(ran.length, `seed ${seed}`).toBeGreaterThan(100);
    }
  });

  it("queues a task once at a time, and again once it ran or was cancelled", () => {
    const scheduler = new Scheduler();
    const ran: number[] = [];
    const task = new Labelled(1, ran);
    scheduler.schedule(task, 1);
    expect(() => scheduler.schedule(task, 2)).toThrow(/not queued already/);
    scheduler.runUntil(1);
    scheduler.schedule(task, 3);
    scheduler.cancel(task);
    scheduler.schedule(task, 4);
    expect(() => scheduler.schedule(new Labelled(2, ran), 0.5)).toThrow(/>= now/);
    scheduler.runUntil(10);
    expect(ran).toEqual([1, 1]);
  });

  it("leaves an event that already ran alone when it is cancelled", () => {
    const scheduler = new Scheduler();
    const ran: string[] = [];
    const first = scheduler.at(1, () => ran.push("first"));
    scheduler.at(2, () => ran.push("second"));
    scheduler.runUntil(1);
    scheduler.cancel(first);
    scheduler.runUntil(5);
    expect(ran).toEqual(["first", "second"]);
    expect(scheduler.pending).toBe(0);
  });
});

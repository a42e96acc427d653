// Profiles one phase of a running process (lesson 9, "capacity planning": measure the phase you
// mean, not the start-up around it). Loaded with `node --import ./scripts/profile-on-signal.js`
// (NODE_OPTIONS accepts --import, unlike --cpu-prof): the first SIGUSR2 starts V8's CPU
// profiler through the inspector, the second writes the profile to
// $NEVERSTOP_PROFILE_DIR/phase.<pid>.0.001.cpuprofile (the name cluster/runtime/real/
// cpu-profile.ts reads) and stops. bench:overload uses it with BENCH_PROFILE_DIR to profile the
// generator and every node during the overload phase only.
import fs from "node:fs";
import inspector from "node:inspector";
import path from "node:path";

const folder = process.env.NEVERSTOP_PROFILE_DIR;
/** Microseconds between samples: finer than V8's default 1 ms, for a phase of a few seconds. */
const samplingIntervalUs = 500;
let session;

if (folder) {
  process.on("SIGUSR2", () => {
    if (session === undefined) {
      session = new inspector.Session();
      session.connect();
      session.post("Profiler.enable", () =>
        session.post("Profiler.setSamplingInterval", { interval: samplingIntervalUs }, () =>
          session.post("Profiler.start"),
        ),
      );
      return;
    }
    const finished = session;
    session = undefined;
    finished.post("Profiler.stop", (error, result) => {
      if (!error) {
        fs.mkdirSync(folder, { recursive: true });
        const file = path.join(folder, `phase.${process.pid}.0.001.cpuprofile`);
        fs.writeFileSync(file, JSON.stringify(result.profile));
      }
      finished.disconnect();
    });
  });
}

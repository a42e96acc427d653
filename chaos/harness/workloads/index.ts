// Every workload by name (see workload.ts for the shape each file follows).
import type { Workload } from "../workload.ts";
import { cacheRegisterWorkload } from "./cache-register.ts";
import { cartWorkload } from "./cart.ts";
import { counterWorkload } from "./counter.ts";
import { pnCounterWorkload } from "./pn-counter.ts";
import { registerWorkload } from "./register.ts";
import { sessionWorkload } from "./session.ts";
import { setWorkload } from "./set.ts";

export const workloads: Readonly<Record<string, Workload>> = {
  register: registerWorkload,
  set: setWorkload,
  counter: counterWorkload,
  "pn-counter": pnCounterWorkload,
  cart: cartWorkload,
  session: sessionWorkload,
  "cache-register": cacheRegisterWorkload,
};

export const workloadNames = Object.keys(workloads);

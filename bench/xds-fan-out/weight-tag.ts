/**
 * xds-fan-out's change tag where an xDS client can see it. A ClusterLoadAssignment carries no
 * instance metadata, so the change number also goes into the tagged instance's weight: weight
 * 1 + seq / 1000, which herald's xDS codec sends as the endpoint's load_balancing_weight
 * round(weight × 1000) = 1000 + seq. Every change thus changes the assignment, and an ADS stream
 * reads the change it holds from the assignment it decoded. The metadata tag (lib/push/changes.ts)
 * stays, for the Subscribe streams. The issue time cannot travel in an assignment: ADS streams
 * record arrival times, and the driver's issue time of each change is subtracted afterwards
 * (`latencyFromIssue`); both times are read from the same clock (performance.timeOrigin + now()).
 */
import type { RegistryTransport } from '../../src/client/registry-transport.js';
import { RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import { tagMetadata, TAGGED_INDEX, type ChangeWriter } from '../lib/push/changes.js';
import type { TallyResult } from '../lib/push/subscriber-tally.js';
import { BENCH_METADATA, INSTANCE_PORT, instanceIp } from '../lib/workload.js';

/** load_balancing_weight of the tagged endpoint at change 0. */
const BASE_UNITS = 1000;

/** The tagged instance's weight at change `seq`. */
export function weightOfSeq(seq: number): number {
  return 1 + seq / 1000;
}

/** The change number an endpoint's load_balancing_weight stands for. */
export function seqOfUnits(units: number): number {
  return units - BASE_UNITS;
}

/** The driver's writer: like lib/push/changes.ts `transportWriter`, with the change number in the tagged instance's weight as well. */
export function weightTagWriter(transport: RegistryTransport): ChangeWriter {
  const register = async (service: string, index: number, weight: number, metadata: Readonly<Record<string, string>>): Promise<void> => {
    await transport.register(RegisterRequest.fromPartial({ service, instance: { ip: instanceIp(index), port: INSTANCE_PORT, weight, metadata } }));
  };
  return {
    prepare: async (service, hosts) => {
      await register(service, TAGGED_INDEX, weightOfSeq(0), tagMetadata({ seq: 0, issuedAtMs: 0 }));
      await Promise.all(Array.from({ length: hosts - 1 }, (_, i) => register(service, TAGGED_INDEX + 1 + i, 1, BENCH_METADATA)));
    },
    issue: (service, tag) => register(service, TAGGED_INDEX, weightOfSeq(tag.seq), tagMetadata(tag)),
    close: () => {
      transport.close();
    },
  };
}

/** A tally whose samples are arrival times (issue time 0), with each sample's change's issue time subtracted. */
export function latencyFromIssue<R extends TallyResult>(r: R, issuedAtMs: (seq: number) => number): R {
  return { ...r, latenciesMs: r.latenciesMs.map((arrivalMs, i) => arrivalMs - issuedAtMs(r.latencySeqs[i] ?? -1)) };
}

/**
 * The waves in the program: every resource of a host in wave k+1 depends on every resource of the
 * hosts in wave k. A plain `pulumi up` then starts no host of a later wave before the earlier wave
 * succeeded (it stops at the first failed resource: a failure budget of 0), and the state records the
 * waves as dependencies.
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * Options that make a host's component and every resource under it depend on `earlier` (the
 * components of the previous wave: Pulumi expands a component to the resources under it). A
 * dependency on the component alone would not reach its children, which Pulumi starts on their own.
 */
export function afterWave(earlier: pulumi.Resource[]): pulumi.ComponentResourceOptions {
    if (earlier.length === 0) return {};
    return {
        transformations: [(args) => ({ props: args.props, opts: pulumi.mergeOptions(args.opts, { dependsOn: earlier }) })],
    };
}

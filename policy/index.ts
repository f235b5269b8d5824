/**
 * conntune's policy pack: the production rules (policy/rules.ts) wired to the engine. Run it with
 * `npm run pulumi -- preview --policy-pack policy --stack NAME`; it holds only the stacks tagged
 * `conntune:environment=production`. Component inputs reach policies empty, so the stack rules read
 * the program's stack outputs `policyFacts` (and `budget`), which are known at preview, and the host
 * key rule reads each command's own `connection` input.
 */
import { PolicyPack, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { PolicyFacts } from "../components/policyFacts";
import { hostKeyPinned, isProduction, STACK_RULES } from "./rules";

/** The stack outputs the rules read, or a message saying why they cannot. */
function stackFacts(resources: { type: string; props: Record<string, any> }[]): { facts: PolicyFacts; budget: unknown } | string {
    const stack = resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const facts = stack?.props.policyFacts as PolicyFacts | undefined;
    if (facts === undefined) return "stack output policyFacts is missing: this program does not export what the production rules check (run conntune's index.ts)";
    if (facts.version !== 1) return `stack output policyFacts has version ${String(facts.version)}: this policy pack reads version 1`;
    return { facts, budget: stack?.props.budget };
}

const factsPresent: StackValidationPolicy = {
    name: "policy-facts",
    description: "the stack exports policyFacts, which the production rules read",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        if (!isProduction(args.stackTags)) return;
        const f = stackFacts(args.resources);
        if (typeof f === "string") report(f);
    },
};

const stackPolicies: StackValidationPolicy[] = Object.entries(STACK_RULES).map(([name, r]) => ({
    name,
    description: r.description,
    enforcementLevel: r.level,
    validateStack: (args, report) => {
        if (!isProduction(args.stackTags)) return;
        const f = stackFacts(args.resources);
        if (typeof f === "string") return; // policy-facts reports it once
        for (const m of r.rule(f.facts, f.budget)) report(m);
    },
}));

const hostKey: ResourceValidationPolicy = {
    name: "ssh-host-key-pinned",
    description: "every remote command checks the host's key (connection.hostKey is set)",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "command:remote:Command" || !isProduction(args.stackTags)) return;
        for (const m of hostKeyPinned(args.name, args.props.connection)) report(m);
    },
};

new PolicyPack("conntune-production", {
    policies: [factsPresent, hostKey, ...stackPolicies],
});

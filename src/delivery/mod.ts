// Public face of the delivery box: the agent the scheduler calls, and the writers.
export { createDeliveryAgent } from "./agent.ts";
export type { DeliveryAgentOptions, DeliveryUser } from "./agent.ts";
export { deliverToMaildir, isAlreadyDelivered } from "./maildir.ts";
export type { MaildirDelivery } from "./maildir.ts";
export { expandFormat, needsDirectory } from "./format.ts";
export type { FormatVars } from "./format.ts";

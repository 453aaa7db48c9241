/**
 * Mail primitives every box shares and none owns: delivery results, error text,
 * addresses, dates, ids, bytes and exit statuses. A leaf: it imports nothing from other boxes.
 *
 * @module
 */
export { DELIVERED, failureFromReply, permfail, tempfail } from "./outcome.ts";
export type { DeliveryFailure, DeliveryResult, RelayHop } from "./outcome.ts";
export { errorMessage } from "./error_message.ts";
export { EX } from "./sysexits.ts";
export { encodeXtext, isPrintableEnvid } from "./xtext.ts";
export { splitAddress, untaggedLocal, virtualKeys } from "./address.ts";
export { addressOf, splitAddressList } from "./address_list.ts";
export { rfc5322Date } from "./date.ts";
export { envelopeIds, randomHex } from "./ids.ts";
export { unmapIpv4 } from "./ipv4_mapped.ts";
export { concatBytes, indexOfByte } from "./bytes.ts";
export { StreamBuffer } from "./stream_buffer.ts";
export { reusedChunks } from "./reused_chunks.ts";
export { writeBatched } from "./batched_writes.ts";
export {
  acceptedChannel,
  CHANNEL_HELLO_VARIABLE,
  CHANNEL_PATH_VARIABLE,
  CHANNEL_TOKEN_VARIABLE,
  type ChannelOffer,
  channelStdio,
  type ChannelStreams,
  childChannel,
  offerChannel,
  offerChannelIn,
  parentChannel,
} from "./child_channel.ts";

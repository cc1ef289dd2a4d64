// Loading of the P4Runtime schema, and the TypeScript shapes of its messages.
//
// Every message crosses our code as a plain object in one convention, whichever
// path produced it (gRPC stubs or direct protobufjs encode/decode):
//
//   field names   snake_case, exactly as in the .proto files (keepCase)
//   uint64/int64  decimal strings ("18446744073709551615"); numbers are accepted
//                 on input but lose precision above 2^53, so never produce them
//   bytes         Buffer (decoded buffers may share memory with the frame they
//                 came from: copy before keeping one for long)
//   enums         value names as strings ("INSERT", "EXACT")
//   defaults      off: a field holding its proto3 default (0, "", false, empty
//                 bytes, empty list, unset message) is absent from the object
//   oneofs        on: a virtual property named after the oneof holds the name
//                 of the member that is set, e.g. entity.entity === 'table_entry'
//
// Because defaults are omitted, every field in the interfaces below is optional.
// Code that reads them must treat `undefined` as the proto3 default.

import * as fs from 'fs';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { requireUp } from '../paths';

const ENTRY_PROTO = 'p4/v1/p4runtime.proto';

function findProtoDir(): string {
  return path.dirname(path.dirname(path.dirname(requireUp(path.join('proto', ENTRY_PROTO), __dirname))));
}

/** Absolute path of the folder holding p4/v1/p4runtime.proto and its imports. */
export const PROTO_DIR: string = findProtoDir();

/** Conversion options shared by the gRPC stubs and the protobufjs helpers, so both yield identical objects. */
export const OBJECT_OPTIONS: Readonly<protobuf.IConversionOptions> = Object.freeze({
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: false,
  oneofs: true,
});

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let cachedRoot: protobuf.Root | undefined;

/** The P4Runtime schema as a resolved protobufjs Root (snake_case field names). Loaded once. */
export function loadP4RuntimeRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const root = new protobuf.Root();
  const defaultResolve = root.resolvePath;
  root.resolvePath = (origin, target) => {
    // Our own files live under PROTO_DIR; google/protobuf/*.proto are not on disk and
    // fall through to protobufjs, which ships those well-known types built in.
    const local = path.join(PROTO_DIR, target);
    return fs.existsSync(local) ? local : defaultResolve(origin, target);
  };
  root.loadSync(ENTRY_PROTO, { keepCase: true });
  root.resolveAll();
  cachedRoot = root;
  return root;
}

/** Fully qualified names of the messages that have an interface in this module. */
export interface MessageTypes {
  'p4.v1.WriteRequest': WriteRequest;
  'p4.v1.WriteResponse': WriteResponse;
  'p4.v1.ReadRequest': ReadRequest;
  'p4.v1.ReadResponse': ReadResponse;
  'p4.v1.Update': Update;
  'p4.v1.Entity': Entity;
  'p4.v1.TableEntry': TableEntry;
  'p4.v1.FieldMatch': FieldMatch;
  'p4.v1.TableAction': TableAction;
  'p4.v1.Action': Action;
  'p4.v1.ActionProfileActionSet': ActionProfileActionSet;
  'p4.v1.CounterData': CounterData;
  'p4.v1.MeterConfig': MeterConfig;
  'p4.v1.CounterEntry': CounterEntry;
  'p4.v1.DirectCounterEntry': DirectCounterEntry;
  'p4.v1.MeterEntry': MeterEntry;
  'p4.v1.DirectMeterEntry': DirectMeterEntry;
  'p4.v1.RegisterEntry': RegisterEntry;
  'p4.v1.DigestEntry': DigestEntry;
  'p4.v1.DigestList': DigestList;
  'p4.v1.DigestListAck': DigestListAck;
  'p4.v1.PacketIn': PacketIn;
  'p4.v1.PacketOut': PacketOut;
  'p4.v1.PacketMetadata': PacketMetadata;
  'p4.v1.StreamMessageRequest': StreamMessageRequest;
  'p4.v1.StreamMessageResponse': StreamMessageResponse;
  'p4.v1.MasterArbitrationUpdate': MasterArbitrationUpdate;
  'p4.v1.IdleTimeoutNotification': IdleTimeoutNotification;
  'p4.v1.Uint128': Uint128;
  'p4.v1.SetForwardingPipelineConfigRequest': SetForwardingPipelineConfigRequest;
  'p4.v1.SetForwardingPipelineConfigResponse': SetForwardingPipelineConfigResponse;
  'p4.v1.ForwardingPipelineConfig': ForwardingPipelineConfig;
  'p4.v1.GetForwardingPipelineConfigRequest': GetForwardingPipelineConfigRequest;
  'p4.v1.GetForwardingPipelineConfigResponse': GetForwardingPipelineConfigResponse;
  'p4.v1.CapabilitiesRequest': CapabilitiesRequest;
  'p4.v1.CapabilitiesResponse': CapabilitiesResponse;
  'p4.v1.P4Data': P4Data;
  'p4.v1.Error': P4Error;
  'google.rpc.Status': RpcStatus;
  'p4.config.v1.P4Info': P4Info;
}

const typeCache = new Map<string, protobuf.Type>();

/** Reflection type for a fully qualified message name, e.g. messageType('p4.v1.WriteRequest'). */
export function messageType(name: keyof MessageTypes | (string & {})): protobuf.Type {
  let type = typeCache.get(name);
  if (!type) {
    type = loadP4RuntimeRoot().lookupType(name);
    typeCache.set(name, type);
  }
  return type;
}

/** Serialises a message object (in the convention above) to wire bytes, as the gRPC stubs do. */
export function encodeMessage<K extends keyof MessageTypes>(name: K, value: MessageTypes[K]): Buffer {
  const type = messageType(name);
  const bytes = type.encode(type.fromObject(value as Record<string, unknown>)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Parses wire bytes into a message object, exactly as the gRPC stubs deliver it. */
export function decodeMessage<K extends keyof MessageTypes>(name: K, bytes: Uint8Array): MessageTypes[K] {
  const type = messageType(name);
  // A Buffer input makes protobufjs hand out Buffer slices for bytes fields, matching gRPC.
  const input = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return type.toObject(type.decode(input), OBJECT_OPTIONS) as MessageTypes[K];
}

// ---------------------------------------------------------------- gRPC

/** Handlers a server passes to `server.addService(P4RuntimeService, handlers)`. */
export type P4RuntimeHandlers = {
  Write: grpc.handleUnaryCall<WriteRequest, WriteResponse>;
  Read: grpc.handleServerStreamingCall<ReadRequest, ReadResponse>;
  SetForwardingPipelineConfig: grpc.handleUnaryCall<
    SetForwardingPipelineConfigRequest,
    SetForwardingPipelineConfigResponse
  >;
  GetForwardingPipelineConfig: grpc.handleUnaryCall<
    GetForwardingPipelineConfigRequest,
    GetForwardingPipelineConfigResponse
  >;
  StreamChannel: grpc.handleBidiStreamingCall<StreamMessageRequest, StreamMessageResponse>;
  Capabilities: grpc.handleUnaryCall<CapabilitiesRequest, CapabilitiesResponse>;
};

type Unary<Req, Res> = {
  (req: Req, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (req: Req, metadata: grpc.Metadata, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (
    req: Req,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<Res>,
  ): grpc.ClientUnaryCall;
};

/** Client stub as produced by grpc.loadPackageDefinition, with the P4Runtime methods typed. */
export interface P4RuntimeClient extends grpc.Client {
  Write: Unary<WriteRequest, WriteResponse>;
  Read(
    req: ReadRequest,
    metadata?: grpc.Metadata,
    options?: Partial<grpc.CallOptions>,
  ): grpc.ClientReadableStream<ReadResponse>;
  SetForwardingPipelineConfig: Unary<SetForwardingPipelineConfigRequest, SetForwardingPipelineConfigResponse>;
  GetForwardingPipelineConfig: Unary<GetForwardingPipelineConfigRequest, GetForwardingPipelineConfigResponse>;
  StreamChannel(
    metadata?: grpc.Metadata,
    options?: Partial<grpc.CallOptions>,
  ): grpc.ClientDuplexStream<StreamMessageRequest, StreamMessageResponse>;
  Capabilities: Unary<CapabilitiesRequest, CapabilitiesResponse>;
}

export type P4RuntimeClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => P4RuntimeClient;

export interface P4RuntimeGrpc {
  packageDefinition: protoLoader.PackageDefinition;
  grpcObject: grpc.GrpcObject;
  /** Service definition for grpc.Server#addService. */
  P4RuntimeService: grpc.ServiceDefinition;
  /** Constructor for client stubs: new P4RuntimeClient('host:9559', credentials). */
  P4RuntimeClient: P4RuntimeClientConstructor;
}

let cachedGrpc: P4RuntimeGrpc | undefined;

/** gRPC stubs for the P4Runtime service, loaded once with the conventions described at the top. */
export function loadP4RuntimeGrpc(): P4RuntimeGrpc {
  if (cachedGrpc) return cachedGrpc;
  const packageDefinition = protoLoader.loadSync(ENTRY_PROTO, LOADER_OPTIONS);
  const grpcObject = grpc.loadPackageDefinition(packageDefinition);
  const p4 = grpcObject.p4 as grpc.GrpcObject;
  const ctor = (p4.v1 as grpc.GrpcObject).P4Runtime as grpc.ServiceClientConstructor;
  cachedGrpc = {
    packageDefinition,
    grpcObject,
    P4RuntimeService: ctor.service,
    P4RuntimeClient: ctor as unknown as P4RuntimeClientConstructor,
  };
  return cachedGrpc;
}

// ---------------------------------------------------------------- shared scalars

/** uint64 / int64 as a decimal string. */
export type Int64String = string;

/** google.protobuf.Any; `value` is the serialised message named by `type_url`. */
export interface ProtoAny {
  type_url?: string;
  value?: Buffer;
}

/** google.rpc.Status */
export interface RpcStatus {
  code?: number;
  message?: string;
  details?: ProtoAny[];
}

// ---------------------------------------------------------------- p4.v1

export interface Uint128 {
  high?: Int64String;
  low?: Int64String;
}

export type WriteAtomicity = 'CONTINUE_ON_ERROR' | 'ROLLBACK_ON_ERROR' | 'DATAPLANE_ATOMIC';

export interface WriteRequest {
  device_id?: Int64String;
  /** Deprecated in favour of `role`. */
  role_id?: Int64String;
  role?: string;
  election_id?: Uint128;
  updates?: Update[];
  atomicity?: WriteAtomicity;
}

// Both responses are empty messages.
export type WriteResponse = Record<string, never>;
export type SetForwardingPipelineConfigResponse = Record<string, never>;

export interface ReadRequest {
  device_id?: Int64String;
  role?: string;
  entities?: Entity[];
}

export interface ReadResponse {
  entities?: Entity[];
}

export type UpdateType = 'UNSPECIFIED' | 'INSERT' | 'MODIFY' | 'DELETE';

export interface Update {
  type?: UpdateType;
  entity?: Entity;
}

export type EntityKind =
  | 'extern_entry'
  | 'table_entry'
  | 'action_profile_member'
  | 'action_profile_group'
  | 'meter_entry'
  | 'direct_meter_entry'
  | 'counter_entry'
  | 'direct_counter_entry'
  | 'packet_replication_engine_entry'
  | 'value_set_entry'
  | 'register_entry'
  | 'digest_entry';

export interface Entity {
  /** Oneof marker, set on decoded objects; ignored on encode. */
  entity?: EntityKind;
  extern_entry?: ExternEntry;
  table_entry?: TableEntry;
  action_profile_member?: ActionProfileMember;
  action_profile_group?: ActionProfileGroup;
  meter_entry?: MeterEntry;
  direct_meter_entry?: DirectMeterEntry;
  counter_entry?: CounterEntry;
  direct_counter_entry?: DirectCounterEntry;
  packet_replication_engine_entry?: PacketReplicationEngineEntry;
  value_set_entry?: ValueSetEntry;
  register_entry?: RegisterEntry;
  digest_entry?: DigestEntry;
}

export interface ExternEntry {
  extern_type_id?: number;
  extern_id?: number;
  entry?: ProtoAny;
}

export interface TableEntryIdleTimeout {
  elapsed_ns?: Int64String;
}

export interface TableEntry {
  table_id?: number;
  match?: FieldMatch[];
  action?: TableAction;
  priority?: number;
  /** Deprecated; use `metadata`. */
  controller_metadata?: Int64String;
  meter_config?: MeterConfig;
  counter_data?: CounterData;
  meter_counter_data?: MeterCounterData;
  is_default_action?: boolean;
  idle_timeout_ns?: Int64String;
  time_since_last_hit?: TableEntryIdleTimeout;
  metadata?: Buffer;
  is_const?: boolean;
}

export interface FieldMatchExact {
  value?: Buffer;
}
export interface FieldMatchTernary {
  value?: Buffer;
  mask?: Buffer;
}
export interface FieldMatchLPM {
  value?: Buffer;
  prefix_len?: number;
}
export interface FieldMatchRange {
  low?: Buffer;
  high?: Buffer;
}
export interface FieldMatchOptional {
  value?: Buffer;
}

export type FieldMatchKind = 'exact' | 'ternary' | 'lpm' | 'range' | 'optional' | 'other';

export interface FieldMatch {
  field_id?: number;
  field_match_type?: FieldMatchKind;
  exact?: FieldMatchExact;
  ternary?: FieldMatchTernary;
  lpm?: FieldMatchLPM;
  range?: FieldMatchRange;
  optional?: FieldMatchOptional;
  other?: ProtoAny;
}

export interface TableAction {
  type?: 'action' | 'action_profile_member_id' | 'action_profile_group_id' | 'action_profile_action_set';
  action?: Action;
  action_profile_member_id?: number;
  action_profile_group_id?: number;
  action_profile_action_set?: ActionProfileActionSet;
}

export interface ActionParam {
  param_id?: number;
  value?: Buffer;
}

export interface Action {
  action_id?: number;
  params?: ActionParam[];
}

export interface ActionProfileAction {
  action?: Action;
  weight?: number;
  watch_kind?: 'watch' | 'watch_port';
  /** Deprecated; use `watch_port`. */
  watch?: number;
  watch_port?: Buffer;
}

export interface ActionProfileActionSet {
  group_action?: Action;
  action_profile_actions?: ActionProfileAction[];
  action_selection_mode?: 'DEFAULT_MODE_DETERMINED_BY_ACTION_SELECTOR' | 'HASH' | 'RANDOM';
  size_semantics?: 'DEFAULT_SIZE_DETERMINED_BY_ACTION_SELECTOR' | 'SUM_OF_WEIGHTS' | 'SUM_OF_MEMBERS';
}

export interface ActionProfileMember {
  action_profile_id?: number;
  member_id?: number;
  action?: Action;
}

export interface ActionProfileGroupMember {
  member_id?: number;
  weight?: number;
  watch_kind?: 'watch' | 'watch_port';
  watch?: number;
  watch_port?: Buffer;
}

export interface ActionProfileGroup {
  action_profile_id?: number;
  group_id?: number;
  members?: ActionProfileGroupMember[];
  max_size?: number;
}

export interface Index {
  index?: Int64String;
}

export interface MeterConfig {
  cir?: Int64String;
  cburst?: Int64String;
  pir?: Int64String;
  pburst?: Int64String;
  eburst?: Int64String;
}

export interface CounterData {
  byte_count?: Int64String;
  packet_count?: Int64String;
}

export interface MeterCounterData {
  green?: CounterData;
  yellow?: CounterData;
  red?: CounterData;
}

export interface MeterEntry {
  meter_id?: number;
  index?: Index;
  config?: MeterConfig;
  counter_data?: MeterCounterData;
}

export interface DirectMeterEntry {
  table_entry?: TableEntry;
  config?: MeterConfig;
  counter_data?: MeterCounterData;
}

export interface CounterEntry {
  counter_id?: number;
  index?: Index;
  data?: CounterData;
}

export interface DirectCounterEntry {
  table_entry?: TableEntry;
  data?: CounterData;
}

export interface BackupReplica {
  port?: Buffer;
  instance?: number;
}

export interface Replica {
  port_kind?: 'egress_port' | 'port';
  /** Deprecated; use `port`. */
  egress_port?: number;
  port?: Buffer;
  instance?: number;
  backup_replicas?: BackupReplica[];
}

export interface MulticastGroupEntry {
  multicast_group_id?: number;
  replicas?: Replica[];
  metadata?: Buffer;
}

export interface CloneSessionEntry {
  session_id?: number;
  replicas?: Replica[];
  class_of_service?: number;
  packet_length_bytes?: number;
}

export interface PacketReplicationEngineEntry {
  type?: 'multicast_group_entry' | 'clone_session_entry';
  multicast_group_entry?: MulticastGroupEntry;
  clone_session_entry?: CloneSessionEntry;
}

export interface ValueSetMember {
  match?: FieldMatch[];
}

export interface ValueSetEntry {
  value_set_id?: number;
  members?: ValueSetMember[];
}

export interface RegisterEntry {
  register_id?: number;
  index?: Index;
  data?: P4Data;
}

export interface DigestEntryConfig {
  max_timeout_ns?: Int64String;
  max_list_size?: number;
  ack_timeout_ns?: Int64String;
}

export interface DigestEntry {
  digest_id?: number;
  config?: DigestEntryConfig;
}

export interface PacketMetadata {
  metadata_id?: number;
  value?: Buffer;
}

export interface PacketOut {
  payload?: Buffer;
  metadata?: PacketMetadata[];
}

export interface PacketIn {
  payload?: Buffer;
  metadata?: PacketMetadata[];
}

export interface DigestListAck {
  digest_id?: number;
  list_id?: Int64String;
}

export interface DigestList {
  digest_id?: number;
  list_id?: Int64String;
  data?: P4Data[];
  timestamp?: Int64String;
}

export interface Role {
  /** Deprecated; use `name`. */
  id?: Int64String;
  name?: string;
  config?: ProtoAny;
}

export interface MasterArbitrationUpdate {
  device_id?: Int64String;
  role?: Role;
  election_id?: Uint128;
  status?: RpcStatus;
}

export interface IdleTimeoutNotification {
  table_entry?: TableEntry[];
  timestamp?: Int64String;
}

export interface StreamMessageRequest {
  update?: 'arbitration' | 'packet' | 'digest_ack' | 'other';
  arbitration?: MasterArbitrationUpdate;
  packet?: PacketOut;
  digest_ack?: DigestListAck;
  other?: ProtoAny;
}

export interface PacketOutError {
  packet_out?: PacketOut;
}

export interface DigestListAckError {
  digest_list_ack?: DigestListAck;
}

export interface StreamOtherError {
  other?: ProtoAny;
}

export interface StreamError {
  canonical_code?: number;
  message?: string;
  space?: string;
  code?: number;
  details?: 'packet_out' | 'digest_list_ack' | 'other';
  packet_out?: PacketOutError;
  digest_list_ack?: DigestListAckError;
  other?: StreamOtherError;
}

export interface StreamMessageResponse {
  update?: 'arbitration' | 'packet' | 'digest' | 'idle_timeout_notification' | 'other' | 'error';
  arbitration?: MasterArbitrationUpdate;
  packet?: PacketIn;
  digest?: DigestList;
  idle_timeout_notification?: IdleTimeoutNotification;
  other?: ProtoAny;
  error?: StreamError;
}

export type PipelineConfigAction =
  'UNSPECIFIED' | 'VERIFY' | 'VERIFY_AND_SAVE' | 'VERIFY_AND_COMMIT' | 'COMMIT' | 'RECONCILE_AND_COMMIT';

export interface ForwardingPipelineConfigCookie {
  cookie?: Int64String;
}

export interface ForwardingPipelineConfig {
  p4info?: P4Info;
  p4_device_config?: Buffer;
  cookie?: ForwardingPipelineConfigCookie;
}

export interface SetForwardingPipelineConfigRequest {
  device_id?: Int64String;
  /** Deprecated in favour of `role`. */
  role_id?: Int64String;
  role?: string;
  election_id?: Uint128;
  action?: PipelineConfigAction;
  config?: ForwardingPipelineConfig;
}

export type PipelineConfigResponseType =
  'ALL' | 'COOKIE_ONLY' | 'P4INFO_AND_COOKIE' | 'DEVICE_CONFIG_AND_COOKIE';

export interface GetForwardingPipelineConfigRequest {
  device_id?: Int64String;
  response_type?: PipelineConfigResponseType;
}

export interface GetForwardingPipelineConfigResponse {
  config?: ForwardingPipelineConfig;
}

export interface CapabilitiesRequest {
  device_id?: Int64String;
}

export interface CapabilitiesResponse {
  p4runtime_api_version?: string;
  experimental?: ProtoAny;
}

/** p4.v1.Error: one per update in the details of a failed Write. */
export interface P4Error {
  canonical_code?: number;
  message?: string;
  space?: string;
  code?: number;
  details?: ProtoAny;
}

export interface P4Varbit {
  bitstring?: Buffer;
  bitwidth?: number;
}

export interface P4StructLike {
  members?: P4Data[];
}

export interface P4Header {
  is_valid?: boolean;
  bitstrings?: Buffer[];
}

export interface P4HeaderUnion {
  valid_header_name?: string;
  valid_header?: P4Header;
}

export interface P4HeaderStack {
  entries?: P4Header[];
}

export interface P4HeaderUnionStack {
  entries?: P4HeaderUnion[];
}

export interface P4Data {
  data?:
    | 'bitstring'
    | 'varbit'
    | 'bool'
    | 'tuple'
    | 'struct'
    | 'header'
    | 'header_union'
    | 'header_stack'
    | 'header_union_stack'
    | 'enum'
    | 'error'
    | 'enum_value';
  bitstring?: Buffer;
  varbit?: P4Varbit;
  bool?: boolean;
  tuple?: P4StructLike;
  struct?: P4StructLike;
  header?: P4Header;
  header_union?: P4HeaderUnion;
  header_stack?: P4HeaderStack;
  header_union_stack?: P4HeaderUnionStack;
  enum?: string;
  error?: string;
  enum_value?: Buffer;
}

// ---------------------------------------------------------------- p4.config.v1
//
// The P4Info message in the same object convention. Annotation-related fields
// (annotations, structured_annotations, annotation_locations, doc) are kept
// loosely typed: the controller never interprets them.

export interface P4InfoDocumentation {
  brief?: string;
  description?: string;
}

interface P4InfoAnnotated {
  annotations?: string[];
  annotation_locations?: unknown[];
  structured_annotations?: unknown[];
}

export interface P4InfoPkgInfo extends P4InfoAnnotated {
  name?: string;
  version?: string;
  doc?: P4InfoDocumentation;
  arch?: string;
  organization?: string;
  contact?: string;
  url?: string;
  platform_properties?: {
    multicast_group_table_size?: number;
    multicast_group_table_total_replicas?: number;
    multicast_group_table_max_replicas_per_entry?: number;
  };
}

export interface P4InfoPreamble extends P4InfoAnnotated {
  id?: number;
  name?: string;
  alias?: string;
  doc?: P4InfoDocumentation;
}

export interface P4NamedType {
  name?: string;
}

export type P4InfoMatchType = 'UNSPECIFIED' | 'EXACT' | 'LPM' | 'TERNARY' | 'RANGE' | 'OPTIONAL';

export interface P4InfoMatchField extends P4InfoAnnotated {
  id?: number;
  name?: string;
  bitwidth?: number;
  match?: 'match_type' | 'other_match_type';
  match_type?: P4InfoMatchType;
  other_match_type?: string;
  doc?: P4InfoDocumentation;
  type_name?: P4NamedType;
}

export type P4InfoActionRefScope = 'TABLE_AND_DEFAULT' | 'TABLE_ONLY' | 'DEFAULT_ONLY' | 'GROUP_ACTION';

export interface P4InfoActionRef extends P4InfoAnnotated {
  id?: number;
  scope?: P4InfoActionRefScope;
}

export interface P4InfoTableActionCall {
  action_id?: number;
  arguments?: { param_id?: number; value?: Buffer }[];
}

export interface P4InfoTable {
  preamble?: P4InfoPreamble;
  match_fields?: P4InfoMatchField[];
  action_refs?: P4InfoActionRef[];
  const_default_action_id?: number;
  initial_default_action?: P4InfoTableActionCall;
  implementation_id?: number;
  direct_resource_ids?: number[];
  size?: Int64String;
  idle_timeout_behavior?: 'NO_TIMEOUT' | 'NOTIFY_CONTROL';
  is_const_table?: boolean;
  has_initial_entries?: boolean;
  other_properties?: ProtoAny;
}

export interface P4InfoActionParam extends P4InfoAnnotated {
  id?: number;
  name?: string;
  bitwidth?: number;
  doc?: P4InfoDocumentation;
  type_name?: P4NamedType;
}

export interface P4InfoAction {
  preamble?: P4InfoPreamble;
  params?: P4InfoActionParam[];
}

export interface P4InfoActionProfile {
  preamble?: P4InfoPreamble;
  table_ids?: number[];
  with_selector?: boolean;
  size?: Int64String;
  max_group_size?: number;
  selector_size_semantics?: 'sum_of_weights' | 'sum_of_members';
  sum_of_weights?: Record<string, never>;
  sum_of_members?: { max_member_weight?: number };
  weights_disallowed?: boolean;
}

export type P4InfoCounterUnit = 'UNSPECIFIED' | 'BYTES' | 'PACKETS' | 'BOTH';

export interface P4InfoCounter {
  preamble?: P4InfoPreamble;
  spec?: { unit?: P4InfoCounterUnit };
  size?: Int64String;
  index_type_name?: P4NamedType;
}

export interface P4InfoDirectCounter {
  preamble?: P4InfoPreamble;
  spec?: { unit?: P4InfoCounterUnit };
  direct_table_id?: number;
}

export interface P4InfoMeterSpec {
  unit?: 'UNSPECIFIED' | 'BYTES' | 'PACKETS';
  type?: 'TWO_RATE_THREE_COLOR' | 'SINGLE_RATE_THREE_COLOR' | 'SINGLE_RATE_TWO_COLOR';
}

export interface P4InfoMeter {
  preamble?: P4InfoPreamble;
  spec?: P4InfoMeterSpec;
  size?: Int64String;
  index_type_name?: P4NamedType;
}

export interface P4InfoDirectMeter {
  preamble?: P4InfoPreamble;
  spec?: P4InfoMeterSpec;
  direct_table_id?: number;
}

export interface P4InfoControllerPacketMetadata {
  preamble?: P4InfoPreamble;
  metadata?: (P4InfoAnnotated & { id?: number; name?: string; bitwidth?: number; type_name?: P4NamedType })[];
}

export interface P4InfoValueSet {
  preamble?: P4InfoPreamble;
  match?: P4InfoMatchField[];
  size?: number;
}

export interface P4BitstringLikeTypeSpec extends P4InfoAnnotated {
  type_spec?: 'bit' | 'int' | 'varbit';
  bit?: { bitwidth?: number };
  int?: { bitwidth?: number };
  varbit?: { max_bitwidth?: number };
}

export interface P4DataTypeSpec {
  type_spec?:
    | 'bitstring'
    | 'bool'
    | 'tuple'
    | 'struct'
    | 'header'
    | 'header_union'
    | 'header_stack'
    | 'header_union_stack'
    | 'enum'
    | 'error'
    | 'serializable_enum'
    | 'new_type';
  bitstring?: P4BitstringLikeTypeSpec;
  bool?: Record<string, never>;
  tuple?: { members?: P4DataTypeSpec[] };
  struct?: P4NamedType;
  header?: P4NamedType;
  header_union?: P4NamedType;
  header_stack?: { header?: P4NamedType; size?: number };
  header_union_stack?: { header_union?: P4NamedType; size?: number };
  enum?: P4NamedType;
  error?: Record<string, never>;
  serializable_enum?: P4NamedType;
  new_type?: P4NamedType;
}

export interface P4StructTypeSpec extends P4InfoAnnotated {
  members?: { name?: string; type_spec?: P4DataTypeSpec }[];
}

export interface P4HeaderTypeSpec extends P4InfoAnnotated {
  members?: { name?: string; type_spec?: P4BitstringLikeTypeSpec }[];
}

export interface P4TypeInfo {
  structs?: Record<string, P4StructTypeSpec>;
  headers?: Record<string, P4HeaderTypeSpec>;
  header_unions?: Record<string, P4InfoAnnotated & { members?: { name?: string; header?: P4NamedType }[] }>;
  enums?: Record<string, P4InfoAnnotated & { members?: (P4InfoAnnotated & { name?: string })[] }>;
  error?: { members?: string[] };
  serializable_enums?: Record<
    string,
    P4InfoAnnotated & {
      underlying_type?: { bitwidth?: number };
      members?: (P4InfoAnnotated & { name?: string; value?: Buffer })[];
    }
  >;
  new_types?: Record<string, unknown>;
}

export interface P4InfoRegister {
  preamble?: P4InfoPreamble;
  type_spec?: P4DataTypeSpec;
  size?: number;
  index_type_name?: P4NamedType;
}

export interface P4InfoDigest {
  preamble?: P4InfoPreamble;
  type_spec?: P4DataTypeSpec;
}

export interface P4InfoExtern {
  extern_type_id?: number;
  extern_type_name?: string;
  instances?: { preamble?: P4InfoPreamble; info?: ProtoAny }[];
}

/** p4.config.v1.P4Info */
export interface P4Info {
  pkg_info?: P4InfoPkgInfo;
  tables?: P4InfoTable[];
  actions?: P4InfoAction[];
  action_profiles?: P4InfoActionProfile[];
  counters?: P4InfoCounter[];
  direct_counters?: P4InfoDirectCounter[];
  meters?: P4InfoMeter[];
  direct_meters?: P4InfoDirectMeter[];
  controller_packet_metadata?: P4InfoControllerPacketMetadata[];
  value_sets?: P4InfoValueSet[];
  registers?: P4InfoRegister[];
  digests?: P4InfoDigest[];
  externs?: P4InfoExtern[];
  type_info?: P4TypeInfo;
}

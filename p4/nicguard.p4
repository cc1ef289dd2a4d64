/*
 * nicguard data plane, P4-16 for the v1model architecture (bmv2 simple_switch_grpc).
 *
 * A bump in the wire between agent-facing ports (on a DPU: the representors of the agents' VFs)
 * and one uplink. Every frame an agent sends is checked, in this order of concern:
 *   1. identity   - the ingress port names the agent; its source MAC and IP must be ones the
 *                   controller bound to that port (fail closed: unknown port or spoofed source drops);
 *   2. access     - the per-agent ACL (IPv4 or IPv6) picks the highest-priority rule for the
 *                   destination prefix, L4 protocol and destination port range; no rule means deny;
 *   3. exfiltration guard - an agent that has received more than its limit from sensitive sources
 *                   may only reach destinations whose rule is marked trusted;
 *   4. rate       - an indexed meter per limited rule; red drops;
 *   5. quota      - a byte budget per quota slot; the packet that would exceed it drops;
 *   6. audit      - a policy drop of an agent or rule in audit mode is counted and forwarded instead.
 * Frames from the uplink go to the host port that owns the destination MAC, and bytes that come
 * from sensitive sources are added to the receiving agent's tally.
 *
 * The names, ids-by-name, widths and sizes here are the table contract that the controller checks
 * at load time (controller/pipeline/contract.ts); change both together.
 */
#include <core.p4>
#include <v1model.p4>

const bit<9>  CPU_PORT = 255;

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_IPV6 = 0x86dd;
const bit<16> ETHERTYPE_ARP  = 0x0806;
const bit<8>  PROTO_TCP = 6;
const bit<8>  PROTO_UDP = 17;

// Where a frame entered, as the port_map table classifies it.
const bit<8> ROLE_UNKNOWN = 0;
const bit<8> ROLE_AGENT   = 1;
const bit<8> ROLE_UPLINK  = 2;

// Why a frame was (or, in audit mode, would have been) dropped. Index of drop_counter and
// audit_counter, and the reason in digests and PacketIns. 1-4 are identity failures and are never
// subject to audit mode; 5-9 are policy decisions.
const bit<8> REASON_NONE         = 0;
const bit<8> REASON_UNKNOWN_PORT = 1;
const bit<8> REASON_SPOOFED      = 2;
const bit<8> REASON_NOT_IP       = 3;
const bit<8> REASON_NO_ROUTE     = 4;
const bit<8> REASON_NO_MATCH     = 5;
const bit<8> REASON_DENY_RULE    = 6;
const bit<8> REASON_QUOTA        = 7;
const bit<8> REASON_RATE         = 8;
const bit<8> REASON_EXFIL        = 9;

// agent flags (port_map.agent_port) and rule flags (ACL actions)
const bit<8> AGENT_FLAG_AUDIT = 0x01;
const bit<8> RULE_FLAG_TRUSTED = 0x01;
const bit<8> RULE_FLAG_AUDIT   = 0x02;

const bit<8> VERDICT_NONE  = 0;

// v1model meter colours: 0 green, 1 yellow, 2 red.
const bit<2> METER_RED = 2;
const bit<8> VERDICT_ALLOW = 1;
const bit<8> VERDICT_DROP  = 2;

#define AGENT_SLOTS  4096
#define QUOTA_SLOTS  65536
#define METER_SLOTS  4096
#define REASON_SLOTS 16
#define RULE_SLOTS   131072

// ---------------------------------------------------------------------------------------------
// Headers. Only what the decisions read is parsed; the rest of the frame rides along as payload,
// so the pipeline never rewrites a byte and no checksum needs recomputing.

// A PacketOut is processed as if it had arrived on ingress_port. With report = 1 the frame is not
// forwarded: the verdict comes back to the controller as a PacketIn, which lets tests and the
// scenario runner probe a policy through P4Runtime alone.
@controller_header("packet_out")
header packet_out_t {
    bit<9> ingress_port;
    bit<1> report;
    bit<6> _pad;
}

@controller_header("packet_in")
header packet_in_t {
    bit<9>  ingress_port;
    bit<9>  egress_port;   // where the frame would have gone; 0 when dropped
    bit<8>  reason;        // REASON_*; 0 when forwarded, the would-be reason when audited
    bit<32> rule_id;
    bit<1>  audited;       // forwarded only because the agent or the rule is in audit mode
    bit<5>  _pad;
}

header ethernet_t {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

header ipv4_t {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  diffserv;
    bit<16> total_len;
    bit<16> identification;
    bit<3>  flags;
    bit<13> frag_offset;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> hdr_checksum;
    bit<32> src_addr;
    bit<32> dst_addr;
}

header ipv6_t {
    bit<4>   version;
    bit<8>   traffic_class;
    bit<20>  flow_label;
    bit<16>  payload_len;
    bit<8>   next_hdr;
    bit<8>   hop_limit;
    bit<128> src_addr;
    bit<128> dst_addr;
}

// The first four bytes of TCP and UDP alike.
header l4_ports_t {
    bit<16> src_port;
    bit<16> dst_port;
}

struct headers_t {
    packet_out_t packet_out;
    packet_in_t  packet_in;
    ethernet_t   ethernet;
    ipv4_t       ipv4;
    ipv6_t       ipv6;
    l4_ports_t   l4;
}

// Sent to the controller for every policy drop (also in audit mode). Digests may be lost; the
// counters are the evidence of record, these are the detail.
struct deny_digest_t {
    bit<16>  agent_id;
    bit<8>   ip_version;
    bit<128> src_addr;
    bit<128> dst_addr;
    bit<8>   protocol;
    bit<16>  src_port;
    bit<16>  dst_port;
    bit<32>  rule_id;
    bit<8>   reason;
    bit<8>   audit;
}

struct local_metadata_t {
    bit<9>   in_port;
    bit<1>   report;
    bit<8>   role;
    bit<16>  agent_id;
    bit<9>   uplink_port;
    bit<8>   agent_flags;
    bit<48>  exfil_limit;
    bit<8>   ip_version;
    bit<128> src_addr;
    bit<128> dst_addr;
    bit<8>   protocol;
    bit<16>  src_port;
    bit<16>  dst_port;
    bit<8>   verdict;
    bit<8>   reason;
    bit<32>  rule_id;
    bit<8>   rule_flags;
    bit<16>  quota_slot;
    bit<64>  quota_budget;
    bit<16>  meter_index;
    bit<32>  window_epoch;
    bit<2>   color;
    bit<9>   out_port;
}

// ---------------------------------------------------------------------------------------------

parser NicguardParser(packet_in pkt, out headers_t hdr, inout local_metadata_t meta,
                      inout standard_metadata_t std) {
    state start {
        meta.in_port = std.ingress_port;
        transition select(std.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }

    state parse_packet_out {
        pkt.extract(hdr.packet_out);
        meta.in_port = hdr.packet_out.ingress_port;
        meta.report = hdr.packet_out.report;
        transition parse_ethernet;
    }

    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    // Ports are read only from an unfragmented-or-first fragment without options: anything else
    // leaves them 0, which no port-scoped rule matches, so evasion by options or fragments fails
    // closed.
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition select(hdr.ipv4.frag_offset, hdr.ipv4.ihl, hdr.ipv4.protocol) {
            (0, 5, PROTO_TCP): parse_l4;
            (0, 5, PROTO_UDP): parse_l4;
            default: accept;
        }
    }

    // Extension headers are not walked: a TCP or UDP segment behind one has ports 0 (fail closed).
    state parse_ipv6 {
        pkt.extract(hdr.ipv6);
        transition select(hdr.ipv6.next_hdr) {
            PROTO_TCP: parse_l4;
            PROTO_UDP: parse_l4;
            default: accept;
        }
    }

    state parse_l4 {
        pkt.extract(hdr.l4);
        transition accept;
    }
}

control NicguardVerifyChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply { }
}

control NicguardIngress(inout headers_t hdr, inout local_metadata_t meta,
                        inout standard_metadata_t std) {

    direct_counter(CounterType.packets_and_bytes) port_map_counter;
    direct_counter(CounterType.packets_and_bytes) acl_v4_counter;
    direct_counter(CounterType.packets_and_bytes) acl_v6_counter;
    direct_counter(CounterType.packets_and_bytes) sensitive_v4_counter;
    direct_counter(CounterType.packets_and_bytes) sensitive_v6_counter;
    direct_counter(CounterType.packets_and_bytes) host_route_counter;

    counter(REASON_SLOTS, CounterType.packets_and_bytes) drop_counter;
    counter(REASON_SLOTS, CounterType.packets_and_bytes) audit_counter;
    counter(QUOTA_SLOTS, CounterType.packets_and_bytes) quota_drop_counter;
    // What each rule let out. The ACL's direct counters count every hit, including packets a later
    // stage (exfiltration guard, meter, quota) dropped; evidence of "bytes that left under rule R"
    // needs the forwarded share, which only a counter after the verdict can give.
    counter(RULE_SLOTS, CounterType.packets_and_bytes) rule_tx_counter;

    // A quota window is identified by an epoch the controller sets per slot in quota_window; the
    // first packet of a new epoch finds the slot's stored epoch stale and starts from zero. Windows
    // are reset by a table write, because bmv2's P4Runtime server cannot write registers.
    register<bit<64>>(QUOTA_SLOTS) quota_used;
    register<bit<32>>(QUOTA_SLOTS) quota_epoch;
    register<bit<64>>(AGENT_SLOTS) sensitive_rx_bytes;
    // The same tally as sensitive_rx_bytes, as a counter: registers cannot be read over bmv2's
    // P4Runtime server, counters can.
    counter(AGENT_SLOTS, CounterType.packets_and_bytes) sensitive_rx_counter;

    meter(METER_SLOTS, MeterType.bytes) rate_meter;

    // ---- identity -----------------------------------------------------------------------------

    action agent_port(bit<16> agent_id, bit<9> uplink_port, bit<8> flags, bit<48> exfil_limit) {
        meta.role = ROLE_AGENT;
        meta.agent_id = agent_id;
        meta.uplink_port = uplink_port;
        meta.agent_flags = flags;
        meta.exfil_limit = exfil_limit;
    }

    action uplink_port() {
        meta.role = ROLE_UPLINK;
    }

    action unknown_port() {
        meta.role = ROLE_UNKNOWN;
    }

    table port_map {
        key = { meta.in_port: exact @name("ingress_port"); }
        actions = { agent_port; uplink_port; @defaultonly unknown_port; }
        const default_action = unknown_port();
        counters = port_map_counter;
        size = 512;
    }

    action source_ok() { }

    table mac_guard {
        key = {
            meta.agent_id: exact @name("agent_id");
            hdr.ethernet.src_addr: exact @name("src_mac");
        }
        actions = { source_ok; @defaultonly NoAction; }
        const default_action = NoAction();
        size = 4096;
    }

    table ipv4_guard {
        key = {
            meta.agent_id: exact @name("agent_id");
            hdr.ipv4.src_addr: exact @name("src_addr");
        }
        actions = { source_ok; @defaultonly NoAction; }
        const default_action = NoAction();
        size = 4096;
    }

    table ipv6_guard {
        key = {
            meta.agent_id: exact @name("agent_id");
            hdr.ipv6.src_addr: exact @name("src_addr");
        }
        actions = { source_ok; @defaultonly NoAction; }
        const default_action = NoAction();
        size = 4096;
    }

    // ---- access -------------------------------------------------------------------------------

    action allow(bit<32> rule_id, bit<8> flags) {
        meta.verdict = VERDICT_ALLOW;
        meta.rule_id = rule_id;
        meta.rule_flags = flags;
    }

    // meter_index 0 is never configured, so it always reads green: a quota without a rate limit.
    action allow_quota(bit<32> rule_id, bit<8> flags, bit<16> quota_slot, bit<64> budget,
                       bit<16> meter_index) {
        meta.verdict = VERDICT_ALLOW;
        meta.rule_id = rule_id;
        meta.rule_flags = flags;
        meta.quota_slot = quota_slot;
        meta.quota_budget = budget;
        meta.meter_index = meter_index;
    }

    action allow_rate(bit<32> rule_id, bit<8> flags, bit<16> meter_index) {
        meta.verdict = VERDICT_ALLOW;
        meta.rule_id = rule_id;
        meta.rule_flags = flags;
        meta.meter_index = meter_index;
    }

    action deny(bit<32> rule_id, bit<8> flags) {
        meta.verdict = VERDICT_DROP;
        meta.reason = REASON_DENY_RULE;
        meta.rule_id = rule_id;
        meta.rule_flags = flags;
    }

    action no_match() {
        meta.verdict = VERDICT_DROP;
        meta.reason = REASON_NO_MATCH;
    }

    table acl_v4 {
        key = {
            meta.agent_id: exact @name("agent_id");
            hdr.ipv4.dst_addr: ternary @name("dst_addr");
            meta.protocol: ternary @name("protocol");
            meta.dst_port: range @name("dst_port");
        }
        actions = { allow; allow_quota; allow_rate; deny; @defaultonly no_match; }
        const default_action = no_match();
        counters = acl_v4_counter;
        size = 131072;
    }

    table acl_v6 {
        key = {
            meta.agent_id: exact @name("agent_id");
            hdr.ipv6.dst_addr: ternary @name("dst_addr");
            meta.protocol: ternary @name("protocol");
            meta.dst_port: range @name("dst_port");
        }
        actions = { allow; allow_quota; allow_rate; deny; @defaultonly no_match; }
        const default_action = no_match();
        counters = acl_v6_counter;
        size = 65536;
    }

    // ---- receive path -------------------------------------------------------------------------

    action to_host(bit<9> port, bit<16> agent_id) {
        meta.out_port = port;
        meta.agent_id = agent_id;
    }

    action no_route() {
        meta.verdict = VERDICT_DROP;
        meta.reason = REASON_NO_ROUTE;
    }

    table host_route {
        key = { hdr.ethernet.dst_addr: exact @name("dst_mac"); }
        actions = { to_host; @defaultonly no_route; }
        const default_action = no_route();
        counters = host_route_counter;
        size = 4096;
    }

    action sensitive() { }

    action set_window(bit<32> epoch) {
        meta.window_epoch = epoch;
    }

    table quota_window {
        key = { meta.quota_slot: exact @name("quota_slot"); }
        actions = { set_window; @defaultonly NoAction; }
        const default_action = NoAction();
        size = 65536;
    }

    table sensitive_v4 {
        key = { hdr.ipv4.src_addr: lpm @name("src_addr"); }
        actions = { sensitive; @defaultonly NoAction; }
        const default_action = NoAction();
        counters = sensitive_v4_counter;
        size = 1024;
    }

    table sensitive_v6 {
        key = { hdr.ipv6.src_addr: lpm @name("src_addr"); }
        actions = { sensitive; @defaultonly NoAction; }
        const default_action = NoAction();
        counters = sensitive_v6_counter;
        size = 1024;
    }

    // ---- helpers ------------------------------------------------------------------------------

    action fail(bit<8> reason) {
        meta.verdict = VERDICT_DROP;
        meta.reason = reason;
    }

    action add_sensitive_bytes() {
        bit<64> seen;
        sensitive_rx_bytes.read(seen, (bit<32>) meta.agent_id);
        sensitive_rx_bytes.write((bit<32>) meta.agent_id, seen + (bit<64>) std.packet_length);
        sensitive_rx_counter.count((bit<32>) meta.agent_id);
    }

    apply {
        // 5-tuple in family-neutral form, for the ACL keys and the digest.
        if (hdr.ipv4.isValid()) {
            meta.ip_version = 4;
            meta.src_addr = (bit<128>) hdr.ipv4.src_addr;
            meta.dst_addr = (bit<128>) hdr.ipv4.dst_addr;
            meta.protocol = hdr.ipv4.protocol;
        } else if (hdr.ipv6.isValid()) {
            meta.ip_version = 6;
            meta.src_addr = hdr.ipv6.src_addr;
            meta.dst_addr = hdr.ipv6.dst_addr;
            meta.protocol = hdr.ipv6.next_hdr;
        }
        if (hdr.l4.isValid()) {
            meta.src_port = hdr.l4.src_port;
            meta.dst_port = hdr.l4.dst_port;
        }

        port_map.apply();

        if (meta.role == ROLE_UNKNOWN) {
            fail(REASON_UNKNOWN_PORT);
        } else if (meta.role == ROLE_UPLINK) {
            host_route.apply();
            if (meta.verdict != VERDICT_DROP) {
                meta.verdict = VERDICT_ALLOW;
                if (hdr.ipv4.isValid()) {
                    if (sensitive_v4.apply().hit) {
                        add_sensitive_bytes();
                    }
                } else if (hdr.ipv6.isValid()) {
                    if (sensitive_v6.apply().hit) {
                        add_sensitive_bytes();
                    }
                }
            }
        } else {
            meta.out_port = meta.uplink_port;
            if (!mac_guard.apply().hit) {
                fail(REASON_SPOOFED);
            } else if (hdr.ethernet.ether_type == ETHERTYPE_ARP) {
                meta.verdict = VERDICT_ALLOW;
            } else if (hdr.ipv4.isValid()) {
                if (!ipv4_guard.apply().hit) {
                    fail(REASON_SPOOFED);
                } else {
                    acl_v4.apply();
                }
            } else if (hdr.ipv6.isValid()) {
                if (!ipv6_guard.apply().hit) {
                    fail(REASON_SPOOFED);
                } else {
                    acl_v6.apply();
                }
            } else {
                fail(REASON_NOT_IP);
            }

            if (meta.verdict == VERDICT_ALLOW && meta.rule_id != 0) {
                bit<64> tally;
                sensitive_rx_bytes.read(tally, (bit<32>) meta.agent_id);
                if ((meta.rule_flags & RULE_FLAG_TRUSTED) == 0 && tally > (bit<64>) meta.exfil_limit) {
                    fail(REASON_EXFIL);
                }
            }
            if (meta.verdict == VERDICT_ALLOW && meta.meter_index != 0) {
                rate_meter.execute_meter<bit<2>>((bit<32>) meta.meter_index, meta.color);
                if (meta.color == METER_RED) {
                    fail(REASON_RATE);
                }
            }
            if (meta.verdict == VERDICT_ALLOW && meta.quota_slot != 0) {
                quota_window.apply();
                bit<32> seen_epoch;
                quota_epoch.read(seen_epoch, (bit<32>) meta.quota_slot);
                bit<64> used;
                quota_used.read(used, (bit<32>) meta.quota_slot);
                if (seen_epoch != meta.window_epoch) {
                    used = 0;
                    quota_epoch.write((bit<32>) meta.quota_slot, meta.window_epoch);
                }
                if (used + (bit<64>) std.packet_length > meta.quota_budget) {
                    fail(REASON_QUOTA);
                    quota_drop_counter.count((bit<32>) meta.quota_slot);
                    quota_used.write((bit<32>) meta.quota_slot, used);
                } else {
                    quota_used.write((bit<32>) meta.quota_slot, used + (bit<64>) std.packet_length);
                }
            }
        }

        // Identity failures always drop. A policy drop of an agent or rule in audit mode is
        // recorded and forwarded instead.
        bit<8> audit = 0;
        if (meta.verdict == VERDICT_DROP && meta.reason >= REASON_NO_MATCH &&
            ((meta.agent_flags & AGENT_FLAG_AUDIT) != 0 || (meta.rule_flags & RULE_FLAG_AUDIT) != 0)) {
            audit = 1;
        }
        if (meta.verdict == VERDICT_DROP && meta.reason >= REASON_NO_MATCH && meta.reason != REASON_RATE) {
            digest<deny_digest_t>(1, {
                meta.agent_id, meta.ip_version, meta.src_addr, meta.dst_addr, meta.protocol,
                meta.src_port, meta.dst_port, meta.rule_id, meta.reason, audit
            });
        }

        if (meta.verdict == VERDICT_DROP && audit == 1) {
            audit_counter.count((bit<32>) meta.reason);
            meta.verdict = VERDICT_ALLOW;
        } else if (meta.verdict == VERDICT_DROP) {
            drop_counter.count((bit<32>) meta.reason);
        }
        if (meta.verdict == VERDICT_ALLOW && meta.rule_id != 0) {
            rule_tx_counter.count(meta.rule_id);
        }

        if (meta.report == 1) {
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = meta.in_port;
            hdr.packet_in.rule_id = meta.rule_id;
            // setValid leaves field values unspecified (P4-16, operations on headers): none goes out so.
            hdr.packet_in.audited = 0;
            hdr.packet_in._pad = 0;
            // An audited frame reads as forwarded; the flag and its reason tell it from one the
            // policy allowed, which the audit counter alone cannot do for a burst of frames.
            if (meta.verdict == VERDICT_ALLOW && audit == 1) {
                hdr.packet_in.egress_port = meta.out_port;
                hdr.packet_in.reason = meta.reason;
                hdr.packet_in.audited = 1;
            } else if (meta.verdict == VERDICT_ALLOW) {
                hdr.packet_in.egress_port = meta.out_port;
                hdr.packet_in.reason = REASON_NONE;
            } else {
                hdr.packet_in.egress_port = 0;
                hdr.packet_in.reason = meta.reason;
            }
            std.egress_spec = CPU_PORT;
        } else if (meta.verdict == VERDICT_ALLOW) {
            std.egress_spec = meta.out_port;
        } else {
            mark_to_drop(std);
        }
        hdr.packet_out.setInvalid();
    }
}

control NicguardEgress(inout headers_t hdr, inout local_metadata_t meta,
                       inout standard_metadata_t std) {
    apply { }
}

control NicguardComputeChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply { }
}

control NicguardDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.ipv6);
        pkt.emit(hdr.l4);
    }
}

V1Switch(NicguardParser(), NicguardVerifyChecksum(), NicguardIngress(), NicguardEgress(),
         NicguardComputeChecksum(), NicguardDeparser()) main;

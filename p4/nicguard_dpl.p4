/*
 * NOT COMPILED HERE. This file has never been through NVIDIA's DPL compiler (dplp4c) nor run on a
 * BlueField-3: the toolchain is not available where nicguard is built and tested. It is written
 * against the DOCA target architecture as NVIDIA documents it (doca_model.p4, NvDocaPipeline, the
 * nv_ externs) and will need adjusting to the extern signatures of the DOCA release you compile
 * with. See docs/bluefield.md.
 *
 * nicguard data plane, DOCA Pipeline Language (DPL) variant for NVIDIA BlueField-3.
 *
 * Same table contract as p4/nicguard.p4 (controller/pipeline/contract.ts): table, action, match
 * field and parameter names are identical, so the compiler and the P4Runtime client need no second
 * contract. What differs, because the DPL runtime has no registers and no digests:
 *   - no quota_used register: allow_quota keeps its parameters (quota_slot, budget, meter_index)
 *     for contract compatibility, but only the meter acts in the data plane; the controller counts
 *     rule_tx_counter and withdraws the rule when the budget is spent (deny inserted above it);
 *   - no sensitive_rx_bytes register: the exfiltration guard (exfil_limit) cannot be kept in the
 *     data plane and is not enforced here; sensitive_v4/v6 still count what arrives from sensitive
 *     sources in their direct counters, which the controller can read;
 *   - no digests: denials are counted by the deny rules' direct counters and drop_counter;
 *   - sizes are powers of two below 2^23, and a table of size N holds N-1 entries plus the default.
 * Agent identity is the ingress port: on the DPU, the representor of the agent's VF or SF, mapped
 * to a DPL port id in the service's device configuration.
 */
#include <doca_model.p4>
#include <doca_headers.p4>
#include <doca_externs.p4>
#include <doca_parser.p4>

const bit<8> REASON_NONE         = 0;
const bit<8> REASON_UNKNOWN_PORT = 1;
const bit<8> REASON_SPOOFED      = 2;
const bit<8> REASON_NOT_IP       = 3;
const bit<8> REASON_NO_ROUTE     = 4;
const bit<8> REASON_NO_MATCH     = 5;
const bit<8> REASON_DENY_RULE    = 6;
const bit<8> REASON_RATE         = 8;

const bit<8> ROLE_UNKNOWN = 0;
const bit<8> ROLE_AGENT   = 1;
const bit<8> ROLE_UPLINK  = 2;

const bit<8> AGENT_FLAG_AUDIT = 0x01;
const bit<8> RULE_FLAG_AUDIT  = 0x02;

const bit<8> VERDICT_NONE  = 0;
const bit<8> VERDICT_ALLOW = 1;
const bit<8> VERDICT_DROP  = 2;

struct nicguard_meta_t {
    bit<8>  role;
    bit<16> agent_id;
    bit<32> uplink_port;
    bit<8>  agent_flags;
    bit<8>  verdict;
    bit<8>  reason;
    bit<32> rule_id;
    bit<8>  rule_flags;
    bit<16> meter_index;
    bit<32> out_port;
}

control nicguard_dpl(
    inout nv_headers_t headers,
    in nv_standard_metadata_t std_meta,
    inout nicguard_meta_t meta,
    inout nv_empty_metadata_t pkt_out_meta
) {
    NvCounter(16, NvCounterType.PACKETS_AND_BYTES) drop_counter;
    NvCounter(16, NvCounterType.PACKETS_AND_BYTES) audit_counter;
    // What each rule let out, after the meter: the counter the controller enforces quotas from.
    NvCounter(131072, NvCounterType.PACKETS_AND_BYTES) rule_tx_counter;
    NvMeter(4096, NvMeterType.BYTES) rate_meter;

    NvDirectCounter(NvCounterType.PACKETS_AND_BYTES) port_map_counter;
    NvDirectCounter(NvCounterType.PACKETS_AND_BYTES) acl_v4_counter;
    NvDirectCounter(NvCounterType.PACKETS_AND_BYTES) acl_v6_counter;
    NvDirectCounter(NvCounterType.PACKETS_AND_BYTES) host_route_counter;
    NvDirectCounter(NvCounterType.PACKETS_AND_BYTES) sensitive_v4_counter;
    NvDirectCounter(NvCounterType.PACKETS_AND_BYTES) sensitive_v6_counter;

    // exfil_limit is accepted for contract compatibility and not acted on (no register to tally in).
    action agent_port(bit<16> agent_id, bit<9> uplink_port, bit<8> flags, bit<48> exfil_limit) {
        meta.role = ROLE_AGENT;
        meta.agent_id = agent_id;
        meta.uplink_port = (bit<32>) uplink_port;
        meta.agent_flags = flags;
    }
    action uplink_port() { meta.role = ROLE_UPLINK; }
    action unknown_port() { meta.role = ROLE_UNKNOWN; }

    table port_map {
        key = { std_meta.port_id: exact @name("ingress_port"); }
        actions = { agent_port; uplink_port; @defaultonly unknown_port; }
        default_action = unknown_port();
        direct_counter = port_map_counter;
        size = 512;
    }

    action source_ok() { }

    table mac_guard {
        key = { meta.agent_id: exact @name("agent_id"); headers.ethernet.src_addr: exact @name("src_mac"); }
        actions = { source_ok; @defaultonly NoAction; }
        default_action = NoAction();
        size = 4096;
    }
    table ipv4_guard {
        key = { meta.agent_id: exact @name("agent_id"); headers.ipv4.src_addr: exact @name("src_addr"); }
        actions = { source_ok; @defaultonly NoAction; }
        default_action = NoAction();
        size = 4096;
    }
    table ipv6_guard {
        key = { meta.agent_id: exact @name("agent_id"); headers.ipv6.src_addr: exact @name("src_addr"); }
        actions = { source_ok; @defaultonly NoAction; }
        default_action = NoAction();
        size = 4096;
    }

    action allow(bit<32> rule_id, bit<8> flags) {
        meta.verdict = VERDICT_ALLOW; meta.rule_id = rule_id; meta.rule_flags = flags;
    }
    // Quota state is the controller's: only the overshoot meter acts here.
    action allow_quota(bit<32> rule_id, bit<8> flags, bit<16> quota_slot, bit<64> budget, bit<16> meter_index) {
        meta.verdict = VERDICT_ALLOW; meta.rule_id = rule_id; meta.rule_flags = flags;
        meta.meter_index = meter_index;
    }
    action allow_rate(bit<32> rule_id, bit<8> flags, bit<16> meter_index) {
        meta.verdict = VERDICT_ALLOW; meta.rule_id = rule_id; meta.rule_flags = flags;
        meta.meter_index = meter_index;
    }
    action deny(bit<32> rule_id, bit<8> flags) {
        meta.verdict = VERDICT_DROP; meta.reason = REASON_DENY_RULE;
        meta.rule_id = rule_id; meta.rule_flags = flags;
    }
    action no_match() { meta.verdict = VERDICT_DROP; meta.reason = REASON_NO_MATCH; }

    table acl_v4 {
        key = {
            meta.agent_id: exact @name("agent_id");
            headers.ipv4.dst_addr: ternary @name("dst_addr");
            headers.ipv4.protocol: ternary @name("protocol");
            headers.tcp.dst_port: range @name("dst_port");
        }
        actions = { allow; allow_quota; allow_rate; deny; @defaultonly no_match; }
        default_action = no_match();
        direct_counter = acl_v4_counter;
        size = 131072;
    }
    table acl_v6 {
        key = {
            meta.agent_id: exact @name("agent_id");
            headers.ipv6.dst_addr: ternary @name("dst_addr");
            headers.ipv6.next_header: ternary @name("protocol");
            headers.tcp.dst_port: range @name("dst_port");
        }
        actions = { allow; allow_quota; allow_rate; deny; @defaultonly no_match; }
        default_action = no_match();
        direct_counter = acl_v6_counter;
        size = 65536;
    }

    action to_host(bit<9> port, bit<16> agent_id) { meta.out_port = (bit<32>) port; meta.agent_id = agent_id; }
    action no_route() { meta.verdict = VERDICT_DROP; meta.reason = REASON_NO_ROUTE; }
    table host_route {
        key = { headers.ethernet.dst_addr: exact @name("dst_mac"); }
        actions = { to_host; @defaultonly no_route; }
        default_action = no_route();
        direct_counter = host_route_counter;
        size = 4096;
    }

    action sensitive() { }
    table sensitive_v4 {
        key = { headers.ipv4.src_addr: lpm @name("src_addr"); }
        actions = { sensitive; @defaultonly NoAction; }
        default_action = NoAction();
        direct_counter = sensitive_v4_counter;
        size = 1024;
    }
    table sensitive_v6 {
        key = { headers.ipv6.src_addr: lpm @name("src_addr"); }
        actions = { sensitive; @defaultonly NoAction; }
        default_action = NoAction();
        direct_counter = sensitive_v6_counter;
        size = 1024;
    }

    action fail(bit<8> reason) { meta.verdict = VERDICT_DROP; meta.reason = reason; }

    apply {
        port_map.apply();
        if (meta.role == ROLE_UNKNOWN) {
            fail(REASON_UNKNOWN_PORT);
        } else if (meta.role == ROLE_UPLINK) {
            host_route.apply();
            if (meta.verdict != VERDICT_DROP) {
                meta.verdict = VERDICT_ALLOW;
                if (headers.ipv4.isValid()) { sensitive_v4.apply(); }
                else if (headers.ipv6.isValid()) { sensitive_v6.apply(); }
            }
        } else {
            meta.out_port = meta.uplink_port;
            if (!mac_guard.apply().hit) {
                fail(REASON_SPOOFED);
            } else if (headers.ipv4.isValid()) {
                if (!ipv4_guard.apply().hit) { fail(REASON_SPOOFED); } else { acl_v4.apply(); }
            } else if (headers.ipv6.isValid()) {
                if (!ipv6_guard.apply().hit) { fail(REASON_SPOOFED); } else { acl_v6.apply(); }
            } else {
                fail(REASON_NOT_IP);
            }
            if (meta.verdict == VERDICT_ALLOW && meta.meter_index != 0) {
                NvMeterColor color = rate_meter.execute((bit<32>) meta.meter_index);
                if (color == NvMeterColor.RED) { fail(REASON_RATE); }
            }
        }

        bit<8> audit = 0;
        if (meta.verdict == VERDICT_DROP && meta.reason >= REASON_NO_MATCH &&
            ((meta.agent_flags & AGENT_FLAG_AUDIT) != 0 || (meta.rule_flags & RULE_FLAG_AUDIT) != 0)) {
            audit = 1;
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

        if (meta.verdict == VERDICT_ALLOW) {
            nv_send_to_port(meta.out_port);
        } else {
            nv_drop();
        }
    }
}

NvDocaPipeline(nv_fixed_parser(), nicguard_dpl()) main;

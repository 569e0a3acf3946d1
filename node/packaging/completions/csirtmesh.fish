# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_csirtmesh_global_optspecs
    string join \n h/help V/version
end

function __fish_csirtmesh_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_csirtmesh_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_csirtmesh_using_subcommand
    set -l cmd (__fish_csirtmesh_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "init" -d 'Create a team identity (keys, node key, signed profile) in a data directory'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "charter" -d 'Write a mesh charter from the founding teams\' profiles'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "run" -d 'Run the node'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "status" -d 'Show the running node\'s status: peers, members, envelopes'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "peers" -d 'Peers kept out (banned for misbehaving, or blocked): list, block, lift'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "members" -d 'List members (with who vouched for whom), applicants and removed teams'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "join" -d 'Ask to join the mesh (again): publish this team\'s signed profile'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "invite" -d 'Invite a team to apply: only invited (or vouched-for) teams\' join requests enter the mesh. The team sends you its id out of band (its `csirtmesh init` or `status` prints it)'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "vouch" -d 'Vouch for an applicant (sign an endorsement)'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "object" -d 'Object to an applicant\'s admission (within the charter\'s objection window)'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "suspend" -d 'Ask to suspend a member; k members\' suspensions remove it'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "report" -d 'Report something about a network this team does not own: the report goes to the responsible team, or to the team of last resort'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "export" -d 'Export what this team reads as STIX 2.1, MISP events or X-ARF reports'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "import" -d 'Import a STIX 2.1 bundle or MISP event(s) as incidents'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "profile" -d 'Change this team\'s RFC 2350 details: publishes a new signed profile'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "directory" -d 'The directory: who is responsible for a network'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "handoff" -d 'Hand a report on to the responsible team (AMBER+STRICT and RED: a referral to the reporter instead; never a forward)'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "ack" -d 'Acknowledge a report addressed or handed to this team'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "accept" -d 'Accept a report handed to this team'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "decline" -d 'Decline a report handed to this team; it returns to the team that handed it'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "retract" -d 'Retract one of this team\'s incident envelopes: every node deletes its content and keeps a signed tombstone instead'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "rotate-key" -d 'Replace this team\'s keys (both unless told otherwise); the team, its membership and its history stay. For the signing key the old key signs the change and the new key consents; for the age key a new profile names the new recipient, and every member\'s GREEN key is replaced before its next use. Do both after a data directory leaked'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "revoke" -d 'Revoke this team\'s own key (e.g. it was compromised). Cannot be undone'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "incident" -d 'Work incidents: open, list, show, comment, status'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "envelopes" -d 'List every stored envelope\'s public header (what every member sees)'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "check" -d 'Check every stored envelope against its id (a damaged one is quarantined and fetched again from peers)'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "doctor" -d 'Check the node: file modes, charter, free disk, membership, peers, sync, reachability, clock; with what to do about each problem. Exits 1 when something is broken'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "backup" -d 'Write an encrypted backup of a data directory: its keys and a consistent copy of its store, taken while the node runs'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "restore" -d 'Restore a backup into a new data directory. The restored node writes nothing until it has caught up with a member\'s node'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "completions" -d 'Print shell completions (install them where your shell looks, e.g. `csirtmesh completions bash > /etc/bash_completion.d/csirtmesh`)'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "man" -d 'Print the man page (roff), generated from this command line\'s own help: `csirtmesh man > csirtmesh.1; man ./csirtmesh.1`'
complete -c csirtmesh -n "__fish_csirtmesh_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l data-dir -d 'Data directory to create' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l name -d 'Team name, as the community knows it' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l country -d 'ISO 3166 country code (e.g. BR)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l constituency -d 'Constituency: IP prefixes, ASNs, domains, comma-separated' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l contact -d 'How to reach the team\'s people' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l last-resort-for -d 'Economies (country codes) this team is the CSIRT of last resort for' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l time-zone -d 'Time zone: an IANA name (Europe/Lisbon) or an offset (UTC+01:00)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l business-hours -d 'Business hours, in words ("Mon-Fri 08:00-18:00")' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l emergency-phone -d 'Emergency phone, international form (+351 210 000 000)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l pgp-fingerprint -d 'OpenPGP key fingerprint (spaces allowed)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l constituency-type -d 'Constituency type: national, government, academic, financial, isp, enterprise, vendor, regional, other' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l languages -d 'Languages the team works in, ISO 639-1 codes (en,pt)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l rfc2350-url -d 'Where the team\'s RFC 2350 document is (https)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l relay -d 'This node runs a circuit relay for teams that cannot be reached directly'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand init" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand charter" -l name -d 'The mesh\'s name' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand charter" -l founder -d 'A founding team: its data directory or its profile.bin (repeat)' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand charter" -l threshold -d 'Endorsements a new team needs to be admitted' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand charter" -l objection-window-hours -d 'Objection window: an admission takes effect this many hours after the k-th endorsement, and a member\'s objection within it blocks it' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand charter" -l point-of-contact -d 'The mesh\'s point of contact (a founder\'s name or team id)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand charter" -l out -d 'Where to write the charter (must not exist)' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand charter" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand charter" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l data-dir -d 'Data directory (made by `init`)' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l config -d 'TOML config file; flags override it' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l charter -d 'The mesh charter (needed on the first run; kept in the data directory)' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l listen -d 'libp2p listen address (repeat). Default: loopback TCP and QUIC, any port' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l bootstrap -d 'A peer to start from, with /p2p/<peer id> (repeat)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l api-listen -d 'Admin API address (loopback only). Default: 127.0.0.1, any port' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l metrics-listen -d 'Serve `GET /metrics` alone, without a token, on this address (e.g. 0.0.0.0:9464 for a Prometheus in another container)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l external-address -d 'This node\'s public address, when a NAT or port forward is in front of it (repeat): announced to peers' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l sync-interval-secs -d 'Seconds between anti-entropy rounds' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l emulate-delay-ms -d 'Emulated delay on incoming messages, ms (test builds only)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l emulate-loss -d 'Emulated loss of incoming gossip, 0..1 (test builds only)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l emulate-bandwidth-kbps -d 'Emulated bandwidth of every incoming link, kbit/s (test builds only)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l private-network -d 'The mesh runs on a private network (or loopback): AutoNAT dials back private addresses too'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -l emulate-censor -d 'Play a censoring member: relay nothing, answer no sync (test builds only)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand run" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand status" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand status" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand status" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand status" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand peers" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand peers" -l block -d 'Block these peers (PeerIds) until lifted' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand peers" -l unblock -d 'Lift the ban or block of these peers' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand peers" -l dial -d 'Dial these addresses now (with /p2p/<peer id>; a relayed one ends /p2p-circuit/p2p/<peer id>)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand peers" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand peers" -l unblock-all -d 'Lift every ban and block'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand peers" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand peers" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand members" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand members" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand members" -l pending -d 'Only pending applicants, with their profiles'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand members" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand members" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand join" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand join" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand join" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand join" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand invite" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand invite" -l days -d 'Days the invitation stays open (at most 30)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand invite" -l node -d 'The team\'s node id (PeerId), if it sent it (repeat for more): members then keep its node connected before its join request arrives, whatever strangers are knocking' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand invite" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand invite" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand invite" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand vouch" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand vouch" -l days -d 'Days the endorsement stays valid' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand vouch" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand vouch" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand vouch" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand object" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand object" -l reason -d 'Why (the applicant and its sponsors see it)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand object" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand object" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand object" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand suspend" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand suspend" -l reason -d 'Why' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand suspend" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand suspend" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand suspend" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand report" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand report" -l about -d 'What it is routed by: an IP, prefix, ASN (AS64500), domain or country code. Without it, the first --indicator with a network part (a URL\'s host, an e-mail address\'s domain)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand report" -l indicator -d 'A typed indicator (repeat): an IP or prefix, AS64500, a domain, a URL, an e-mail address, md5:/sha1:/sha256: hashes' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand report" -l country -d 'The economy to fall back on when no team covers it (e.g. BR)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand report" -l title -d 'One line' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand report" -l description -d 'What happened, what is asked' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand report" -l tlp -d 'TLP label (amber by default)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand report" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand report" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand report" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand export" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand export" -l format -d 'stix (a STIX 2.1 bundle), misp (MISP events), xarf (X-ARF v4 reports, one per line; reports only)' -r -f -a "stix\t'A STIX 2.1 bundle'
misp\t'MISP events (MISP core format, as MISP\'s REST search answers)'
xarf\t'X-ARF v4 abuse reports, one per line (reports only)'"
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand export" -l incident -d 'Only this incident (id or 8+ hex digits)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand export" -l since -d 'Only incidents changed since: a time (2026-11-01T00:00:00Z) or a span back from now (7d, 12h)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand export" -l out -d 'Write here (must not exist) instead of standard output' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand export" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand export" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand import" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand import" -l tlp -d 'The label for objects the source left unmarked (never assumed; without it an unmarked object is refused). A marked object keeps its source\'s label' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand import" -l to -d 'Recipients (names or team ids) of incidents labelled amber or narrower, comma-separated' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand import" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand import" -l reshare-restricted -d 'This team is the source of the file\'s AMBER+STRICT and RED content (or has its consent): pass it to --to. Without it such content is refused (those labels allow no disclosure beyond their recipients)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand import" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand import" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand profile" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand profile" -l time-zone -d 'Time zone: an IANA name (Europe/Lisbon) or an offset (UTC+01:00)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand profile" -l business-hours -d 'Business hours, in words ("Mon-Fri 08:00-18:00")' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand profile" -l emergency-phone -d 'Emergency phone, international form (+351 210 000 000)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand profile" -l pgp-fingerprint -d 'OpenPGP key fingerprint (spaces allowed)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand profile" -l constituency-type -d 'Constituency type: national, government, academic, financial, isp, enterprise, vendor, regional, other' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand profile" -l languages -d 'Languages the team works in, ISO 639-1 codes (en,pt)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand profile" -l rfc2350-url -d 'Where the team\'s RFC 2350 document is (https)' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand profile" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand profile" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand profile" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand directory; and not __fish_seen_subcommand_from lookup help" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand directory; and not __fish_seen_subcommand_from lookup help" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand directory; and not __fish_seen_subcommand_from lookup help" -f -a "lookup" -d 'Who is responsible for an IP, prefix, ASN, domain or country, and why'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand directory; and not __fish_seen_subcommand_from lookup help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand directory; and __fish_seen_subcommand_from lookup" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand directory; and __fish_seen_subcommand_from lookup" -l country -d 'The economy to fall back on when no team covers it' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand directory; and __fish_seen_subcommand_from lookup" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand directory; and __fish_seen_subcommand_from lookup" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand directory; and __fish_seen_subcommand_from lookup" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand directory; and __fish_seen_subcommand_from help" -f -a "lookup" -d 'Who is responsible for an IP, prefix, ASN, domain or country, and why'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand directory; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand handoff" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand handoff" -l to -d 'The team(s) to hand it to' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand handoff" -l note -d 'A note for them' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand handoff" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand handoff" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand handoff" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand ack" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand ack" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand ack" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand ack" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand accept" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand accept" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand accept" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand accept" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand decline" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand decline" -l reason -d 'Why' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand decline" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand decline" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand decline" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand retract" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand retract" -l reason -d 'Why' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand retract" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand retract" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand retract" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand rotate-key" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand rotate-key" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand rotate-key" -l signing-only -d 'Replace only the signing key'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand rotate-key" -l age-only -d 'Replace only the age key'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand rotate-key" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand rotate-key" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand revoke" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand revoke" -l reason -d 'Why' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand revoke" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand revoke" -l yes -d 'Confirm: from now on every node refuses this team\'s envelopes'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand revoke" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand revoke" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and not __fish_seen_subcommand_from open list show comment status help" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and not __fish_seen_subcommand_from open list show comment status help" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and not __fish_seen_subcommand_from open list show comment status help" -f -a "open" -d 'Open an incident'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and not __fish_seen_subcommand_from open list show comment status help" -f -a "list" -d 'List incidents'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and not __fish_seen_subcommand_from open list show comment status help" -f -a "show" -d 'Show one incident with its whole thread'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and not __fish_seen_subcommand_from open list show comment status help" -f -a "comment" -d 'Comment on an incident'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and not __fish_seen_subcommand_from open list show comment status help" -f -a "status" -d 'Change an incident\'s status: new, in-progress, resolved, closed'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and not __fish_seen_subcommand_from open list show comment status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from open" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from open" -l title -d 'One line' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from open" -l description -d 'What happened, what is asked' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from open" -l tlp -d 'TLP label: clear, green, amber, amber+strict, red' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from open" -l to -d 'Recipients (names or team ids), comma-separated; for amber and narrower' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from open" -l indicator -d 'A typed indicator (repeat): an IP or prefix, AS64500, a domain, a URL, an e-mail address, md5:/sha1:/sha256: hashes' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from open" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from open" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from open" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from list" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from show" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from show" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from comment" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from comment" -l text -d 'The comment' -r
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from comment" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from comment" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from comment" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from status" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from status" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from help" -f -a "open" -d 'Open an incident'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from help" -f -a "list" -d 'List incidents'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one incident with its whole thread'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from help" -f -a "comment" -d 'Comment on an incident'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from help" -f -a "status" -d 'Change an incident\'s status: new, in-progress, resolved, closed'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand incident; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand envelopes" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand envelopes" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand envelopes" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand envelopes" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand check" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand check" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand check" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand check" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand doctor" -l data-dir -d 'Data directory of the running node' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand doctor" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand backup" -l data-dir -d 'Data directory to back up (the node may be running)' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand backup" -l out -d 'The backup file to write (must not exist)' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand backup" -l passphrase-file -d 'A file whose first line is the passphrase (12 characters or more)' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand backup" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand backup" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand backup" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand restore" -l from -d 'The backup file' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand restore" -l data-dir -d 'The data directory to create (must not exist, or be empty)' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand restore" -l passphrase-file -d 'A file whose first line is the passphrase' -r -F
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand restore" -l skip-clock-wait -d 'The lost node stopped more than 10 minutes ago (or its clock was right): write as soon as caught up, without waiting out the clock-skew window'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand restore" -l json -d 'Print JSON'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand restore" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand restore" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand completions" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand completions" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand man" -s h -l help -d 'Print help'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand man" -s V -l version -d 'Print version'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "init" -d 'Create a team identity (keys, node key, signed profile) in a data directory'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "charter" -d 'Write a mesh charter from the founding teams\' profiles'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "run" -d 'Run the node'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "status" -d 'Show the running node\'s status: peers, members, envelopes'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "peers" -d 'Peers kept out (banned for misbehaving, or blocked): list, block, lift'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "members" -d 'List members (with who vouched for whom), applicants and removed teams'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "join" -d 'Ask to join the mesh (again): publish this team\'s signed profile'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "invite" -d 'Invite a team to apply: only invited (or vouched-for) teams\' join requests enter the mesh. The team sends you its id out of band (its `csirtmesh init` or `status` prints it)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "vouch" -d 'Vouch for an applicant (sign an endorsement)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "object" -d 'Object to an applicant\'s admission (within the charter\'s objection window)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "suspend" -d 'Ask to suspend a member; k members\' suspensions remove it'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "report" -d 'Report something about a network this team does not own: the report goes to the responsible team, or to the team of last resort'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "export" -d 'Export what this team reads as STIX 2.1, MISP events or X-ARF reports'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "import" -d 'Import a STIX 2.1 bundle or MISP event(s) as incidents'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "profile" -d 'Change this team\'s RFC 2350 details: publishes a new signed profile'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "directory" -d 'The directory: who is responsible for a network'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "handoff" -d 'Hand a report on to the responsible team (AMBER+STRICT and RED: a referral to the reporter instead; never a forward)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "ack" -d 'Acknowledge a report addressed or handed to this team'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "accept" -d 'Accept a report handed to this team'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "decline" -d 'Decline a report handed to this team; it returns to the team that handed it'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "retract" -d 'Retract one of this team\'s incident envelopes: every node deletes its content and keeps a signed tombstone instead'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "rotate-key" -d 'Replace this team\'s keys (both unless told otherwise); the team, its membership and its history stay. For the signing key the old key signs the change and the new key consents; for the age key a new profile names the new recipient, and every member\'s GREEN key is replaced before its next use. Do both after a data directory leaked'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "revoke" -d 'Revoke this team\'s own key (e.g. it was compromised). Cannot be undone'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "incident" -d 'Work incidents: open, list, show, comment, status'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "envelopes" -d 'List every stored envelope\'s public header (what every member sees)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "check" -d 'Check every stored envelope against its id (a damaged one is quarantined and fetched again from peers)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "doctor" -d 'Check the node: file modes, charter, free disk, membership, peers, sync, reachability, clock; with what to do about each problem. Exits 1 when something is broken'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "backup" -d 'Write an encrypted backup of a data directory: its keys and a consistent copy of its store, taken while the node runs'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "restore" -d 'Restore a backup into a new data directory. The restored node writes nothing until it has caught up with a member\'s node'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "completions" -d 'Print shell completions (install them where your shell looks, e.g. `csirtmesh completions bash > /etc/bash_completion.d/csirtmesh`)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "man" -d 'Print the man page (roff), generated from this command line\'s own help: `csirtmesh man > csirtmesh.1; man ./csirtmesh.1`'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and not __fish_seen_subcommand_from init charter run status peers members join invite vouch object suspend report export import profile directory handoff ack accept decline retract rotate-key revoke incident envelopes check doctor backup restore completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and __fish_seen_subcommand_from directory" -f -a "lookup" -d 'Who is responsible for an IP, prefix, ASN, domain or country, and why'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and __fish_seen_subcommand_from incident" -f -a "open" -d 'Open an incident'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and __fish_seen_subcommand_from incident" -f -a "list" -d 'List incidents'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and __fish_seen_subcommand_from incident" -f -a "show" -d 'Show one incident with its whole thread'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and __fish_seen_subcommand_from incident" -f -a "comment" -d 'Comment on an incident'
complete -c csirtmesh -n "__fish_csirtmesh_using_subcommand help; and __fish_seen_subcommand_from incident" -f -a "status" -d 'Change an incident\'s status: new, in-progress, resolved, closed'

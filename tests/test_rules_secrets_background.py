"""CBP107 secret-in-env and CBP108 background-process, beyond their golden cases."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.report.text_report import render
from fixers.config import Config
from fixers.dockerfile.commands import tokenize
from fixers.dockerfile.parser import parse
from fixers.dockerfile.rules.secret_in_env import assignments, name_reason, value_reason
from fixers.engine import Selection, scan_text
from fixers.model import Finding, FixSafety, Severity
from fixers.registry import find_rule
from fixers.run import discover, run
from fixers.source import LocalSource


def _scan(code: str, text: str, **options: object) -> list[Finding]:
    config = Config(options={code: options}) if options else Config()
    return scan_text("Dockerfile", "dockerfile", text, Selection(config, only=frozenset({code})))


def _secrets(text: str) -> list[Finding]:
    return _scan("CBP107", text)


def _background(text: str, **options: object) -> list[Finding]:
    return _scan("CBP108", text, **options)


# --- the rules' documentation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "code", "severity"),
    [
        ("secret-in-env", "CBP107", Severity.ERROR),
        ("background-process", "CBP108", Severity.WARNING),
    ],
)
def test_rules_are_registered_detect_only(selector: str, code: str, severity: Severity) -> None:
    rule = find_rule(selector)
    assert rule is not None and rule.doc.code == code
    assert rule.doc.fix == FixSafety.NONE and rule.doc.after is None
    assert rule.doc.severity == severity
    assert rule.doc.kind == "dockerfile"


def test_secret_rule_peers_are_checkov_secret_scanner_ids_only() -> None:
    rule = find_rule("CBP107")
    assert rule is not None
    assert set(rule.doc.peers) == {"checkov", "buildkit"}
    assert "CKV_SECRET_2" in rule.doc.peer_ids and "CKV_SECRET_6" in rule.doc.peer_ids
    assert find_rule("CKV_SECRET_2") is rule
    background = find_rule("CBP108")
    assert background is not None and background.doc.peers == {}


# --- secret-in-env: names ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD", "MYSQL_ROOT_PASSWORD", "LDAP_PASSWD", "NAGIOSADMIN_PASS", "GPG_PASSPHRASE",
        "CLIENT_SECRET", "NPM_TOKEN", "GH_PAT", "API_KEY", "APIKEY", "apiKey", "dbPassword",
        "AWS_SECRET_ACCESS_KEY", "ACCESS_KEY", "SSH_PRIVATE_KEY", "SECRET_KEY_BASE",
        "GOOGLE_APPLICATION_CREDENTIALS", "BASIC_AUTH", "NPM_AUTH_TOKEN", "API_KEY_2",
        "DJANGO_SECRET_KEY", "APP_KEY", "NEW_RELIC_LICENSE_KEY", "ACCESS_TOKEN_SECRET",
        # Password words glued to a prefix.
        "PGPASSWORD", "MYSQL_PWD", "dbpassword", "ROOTPASSWD", "SSHPASS", "KEYSTOREPASS",
        "SMTP_DBPASS", "ADMINPASSPHRASE",
    ],
)  # fmt: skip
def test_names_that_look_like_credentials(name: str) -> None:
    assert name_reason(name) is not None


@pytest.mark.parametrize(
    "name",
    [
        "TOKENIZER_PATH", "AUTHOR", "AUTHORS", "GPG_KEY", "GPG_KEYS", "SSH_PUBLIC_KEY",
        "JWT_PUBLIC_KEY", "DB_PASSWORD_FILE", "SECRET_KEY_BASE_FILE", "CREDENTIALS_PATH",
        "AUTH_URL", "TOKEN_URL", "AWS_ACCESS_KEY_ID", "TOKEN_EXPIRE_MINUTES", "AUTH_ENABLED",
        "PASSWORD_MIN_LENGTH", "SSH_AUTH_SOCK", "GIT_ASKPASS", "PWD", "KEY", "PASSENGER_APP_ENV",
        "OAUTH_CLIENT_ID", "PASSTHROUGH", "KEYCLOAK_VERSION", "SECRETARY",
        # Glued words that are no password: a prefix not known to take `PASS`, sudo's tag,
        # files holding one.
        "BYPASS", "COMPASS", "SURPASS", "FIRSTPASS", "NOPASSWD", "PGPASSFILE",
        "PGPASSWORD_FILE", "OLDPWD",
    ],
)  # fmt: skip
def test_names_that_do_not(name: str) -> None:
    assert name_reason(name) is None


# --- secret-in-env: values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
        ("ghp_0123456789abcdefghijABCDEFGHIJ012345", "GitHub token"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "GitHub token"),
        ("xoxb-1234567890-abcdefghijkl", "Slack token"),
        ("xoxp-1234567890-abcdefghijkl", "Slack token"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key"),
        ("-----BEGIN PRIVATE KEY-----", "private key"),
        ("sk_live_0123456789abcdefABCDEF", "Stripe"),
        ("https://deploy:hunter2@git.example.com/repo.git", "URL with a password"),
        ("amqp://guest:guest@rabbitmq:5672/", "URL with a password"),
        ("Zk3j9QpL2mN8vB4xT7wR1sYc", "random"),
        ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "random"),
    ],
)
def test_values_that_look_like_secrets(value: str, reason: str) -> None:
    found = value_reason("SOME_SETTING", value)
    assert found is not None and reason in found
    assert value not in found


@pytest.mark.parametrize(
    "value",
    [
        "A035C8C19219BA821ECEA86B64E628F8D684696D",  # a GPG fingerprint (hex)
        "8fb5f9fbc7609fa822cb31549884575db7fd9657cbffb89510b5d7975963a83a",  # sha256
        "123e4567-e89b-12d3-a456-426614174000",  # a UUID
        "MyApplicationName2024Version",
        "--max-old-space-size=4096",
        "/usr/local/lib/python3.12/site-packages",
        "https://example.com/path?x=1",
        "postgres://db:5432/app",
        "com.example.project.Application",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
        "JAVA_TOOL_OPTIONS_Xmx512m_G1GC",
    ],
)
def test_values_that_do_not(value: str) -> None:
    assert value_reason("SOME_SETTING", value) is None


def test_digest_names_get_no_entropy_guess() -> None:
    assert value_reason("NODE_INTEGRITY", "sha512-Zk3j9QpL2mN8vB4xT7wR1sYcZk3j9Q==") is None
    assert value_reason("SOMETHING", "sha512-Zk3j9QpL2mN8vB4xT7wR1sYcZk3j9Q==") is not None


# --- secret-in-env: ENV and ARG syntaxes ---------------------------------------------------


def _assigned(line: str) -> list[tuple[str, str | None]]:
    doc = parse(f"FROM x\n{line}\n")
    return [(a.name, a.value) for a in assignments(doc.instructions[1], doc.escape)]


def test_env_and_arg_syntaxes() -> None:
    assert _assigned('ENV KEY=value KEY2="v w" K3=\'x y\' K4=a\\ b') == [
        ("KEY", "value"), ("KEY2", "v w"), ("K3", "x y"), ("K4", "a b"),
    ]  # fmt: skip
    assert _assigned("ENV KEY value with  spaces") == [("KEY", "value with spaces")]
    assert _assigned('ENV KEY "quoted value"') == [("KEY", "quoted value")]
    assert _assigned("ARG KEY") == [("KEY", None)]
    assert _assigned("ARG KEY=default OTHER") == [("KEY", "default"), ("OTHER", None)]
    assert _assigned("ARG KEY=") == [("KEY", "")]


def test_findings_point_at_the_variable_in_continued_lines() -> None:
    text = (
        "FROM x\r\n"
        "ENV A=1 \\\r\n"
        "    # a comment inside the continuation\r\n"
        "    B=2 \\\r\n"
        "      API_TOKEN=abc\r\n"
    )
    [finding] = _secrets(text)
    assert (finding.line, finding.column) == (5, 7)
    assert "`API_TOKEN`" in finding.message


def test_libpq_password_variable() -> None:
    [finding] = _secrets("FROM postgres:16\nENV PGPASSWORD=postgres\n")
    assert "`PGPASSWORD`" in finding.message and "a password" in finding.message
    assert _secrets("FROM postgres:16\nENV PGPASSFILE=/run/secrets/pgpass\n") == []


def test_arg_without_default_is_a_milder_finding() -> None:
    [no_default, with_default] = _secrets("FROM x\nARG NPM_TOKEN\nARG API_KEY=abc123\n")
    assert no_default.line == 2 and "build arg `NPM_TOKEN`" in no_default.message
    assert "history" in no_default.message and "build secret" in no_default.message
    assert with_default.line == 3 and "has a default value" in with_default.message
    assert _secrets('FROM x\nARG NPM_TOKEN=""\n')[0].message == no_default.message


def test_env_copying_a_build_arg() -> None:
    findings = _secrets("FROM x\nARG TOKEN\nENV TOKEN=$TOKEN\nENV OTHER=${TOKEN:-none}\n")
    assert [f.line for f in findings] == [2, 3, 4]
    assert "copies build arg `TOKEN`" in findings[1].message
    assert "copies build arg `TOKEN`" in findings[2].message
    # A credential-named ENV copying an innocently named build arg.
    [copy] = _secrets("FROM x\nARG X\nENV DB_PASSWORD=$X\n")
    assert copy.line == 3 and "copies build arg `X`" in copy.message
    # No ARG of that name in the stage: the reference expands to nothing.
    assert _secrets("FROM x\nENV SECRET_KEY=$SECRET_KEY\n") == []
    assert _secrets("FROM x\nARG T\nFROM y\nENV GH=$T_TOKEN\n") == []


def test_url_passwords_from_build_args() -> None:
    text = "FROM x\nARG PW\nENV DATABASE_URL=postgres://app:${PW}@db/app\n"
    assert [f.line for f in _secrets(text)] == [3]
    # Not a build arg in this stage: it expands to what the image already has, or to nothing.
    assert _secrets("FROM x\nENV DATABASE_URL=postgres://app:${PW}@db/app\n") == []


def test_build_args_are_scoped_to_their_stage() -> None:
    text = "FROM a\nARG GITHUB_TOKEN\nFROM b\nENV GH=$GITHUB_TOKEN\n"
    assert [f.line for f in _secrets(text)] == [2]


def test_harmless_values_of_credential_names_are_left_alone() -> None:
    text = (
        "FROM x\n"
        "ENV MYSQL_ALLOW_EMPTY_PASSWORD=yes DB_PASSWORD= REQUIRE_AUTH=false\n"
        "ENV GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/google/key.json\n"
        "ARG USE_AUTH=false\n"
    )
    assert _secrets(text) == []


def test_onbuild_and_other_instructions_are_not_read() -> None:
    text = "FROM x\nLABEL password=abc\nRUN export API_TOKEN=abc\nCMD API_KEY=abc ./run\n"
    assert _secrets(text) == []


SECRET_VALUES = (
    "AKIAIOSFODNN7EXAMPLE",
    "hunter2",
    "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "xoxb-1234567890-abcdefghijkl",
    "Zk3j9QpL2mN8vB4xT7wR1sYc",
    "correct-horse-battery-staple",
    "MIIEpAIBAAKCAQEA",
    "sk_live_0123456789abcdefABCDEF",
)


def test_secret_values_appear_in_no_finding_and_no_report(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12-slim\n"
        "ARG BUILD_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345\n"
        "ENV AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \\\n"
        "    DATABASE_URL=postgres://app:hunter2@db/app\n"
        "ENV SLACK=xoxb-1234567890-abcdefghijkl UPSTREAM=Zk3j9QpL2mN8vB4xT7wR1sYc\n"
        "ENV ADMIN_PASSWORD correct-horse-battery-staple\n"
        'ENV TLS="-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA"\n'
        "ENV STRIPE=sk_live_0123456789abcdefABCDEF\n"
    )
    source = LocalSource(tmp_path)
    selection = Selection(only=frozenset({"CBP107"}))
    result = run(source, discover(source), selection)
    findings = result.findings
    assert [f.line for f in findings] == [2, 3, 4, 5, 5, 6, 7, 8]
    for finding in findings:
        fields = repr(dataclasses.astuple(finding))
        for value in SECRET_VALUES:
            assert value not in fields
    for explain in (False, True):
        report = render(result, explain=explain, fixing=False, diff=False, unsafe=False)
        assert "CBP107" in report
        for value in SECRET_VALUES:
            assert value not in report
    fixed = run(source, discover(source), selection, fix=True)
    report = render(fixed, explain=True, fixing=True, diff=True, unsafe=True)
    for value in SECRET_VALUES:
        assert value not in report


def test_suggestion_shows_a_build_secret() -> None:
    [finding] = _secrets("FROM x\nENV NPM_TOKEN=abc\n")
    assert finding.suggestion is not None
    assert "--mount=type=secret,id=npm_token,env=NPM_TOKEN" in finding.suggestion
    assert finding.fix is None


# --- background-process ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instructions", "expect"),
    [
        ("CMD nginx & php-fpm -F", "`nginx` in the background"),
        (
            'CMD ["sh", "-c", "redis-server & exec node server.js"]',
            "`redis-server` in the background",
        ),
        ('CMD ["bash", "-ec", "worker &\\nexec web"]', "`worker` in the background"),
        ("CMD nohup worker > /dev/null 2>&1 & exec web", "`nohup`"),
        ("CMD service nginx start && php-fpm", "`nginx` service"),
        ('CMD ["service", "ssh", "start"]', "`ssh` service"),
        ("CMD /etc/init.d/apache2 start && bash", "init script"),
        ("CMD systemctl start nginx", "`nginx` with `systemctl`"),
        ("CMD apachectl start; sleep infinity", "apachectl start"),
        ("CMD php-fpm8.2 -D; nginx -g 'daemon off;'", "daemonized with `-D`"),
        ("CMD redis-server --daemonize yes && node app.js", "daemonized"),
        ("CMD crond && tail -f /var/log/cron.log", "`crond`"),
        ("CMD /usr/sbin/sshd && exec app", "`sshd`"),
        ("CMD pm2 start app.js && pm2 logs", "pm2"),
        ('CMD ["tail", "-f", "/dev/null"]', "tail -f /dev/null"),
        ('CMD ["sleep", "infinity"]', "sleep infinity"),
        ("CMD ./setup.sh && tail -F /var/log/app.log", "following a log"),
        ("CMD start-things; while true; do sleep 3600; done", "endless `sleep` loop"),
        ('CMD exec sh -c "trap : TERM INT; tail -f /dev/null"', "tail -f /dev/null"),
        ('ENTRYPOINT ["tini", "--"]\nCMD ["sleep", "infinity"]', "sleep infinity"),
        ('ENTRYPOINT ["gosu", "app", "sh", "-c", "a & b"]', "`a` in the background"),
        ('CMD ["supervisord", "-n"]', "several services under `supervisord`"),
        ('CMD ["s6-svscan", "/etc/s6"]', "`s6-svscan`"),
        ("CMD runsvdir -P /etc/service", "`runsvdir`"),
        ("CMD sudo -u app nohup ./worker & exec web", "`worker` in the background"),
        ("CMD supervisord && tail -f /dev/null", "`supervisord`; keeps the container alive"),
    ],
)
def test_background_patterns(instructions: str, expect: str) -> None:
    [finding] = _background(f"FROM x\n{instructions}\n")
    assert expect in finding.message


@pytest.mark.parametrize(
    "instructions",
    [
        'CMD ["nginx", "-g", "daemon off;"]',
        'CMD ["php-fpm", "-F"]',
        "CMD exec gunicorn app:app 2>&1",
        "CMD ./server >/proc/1/fd/1 2>&1",
        "CMD ./server &> /dev/stdout",
        "CMD cron -f",
        'CMD ["/usr/sbin/sshd", "-D"]',
        'CMD ["tail", "-F", "/var/log/app.log"]',
        "CMD sleep 5 && ./migrate && exec ./server",
        'ENTRYPOINT ["/docker-entrypoint.sh"]\nCMD ["postgres"]',
        "CMD pm2-runtime app.js",
        'CMD ["bash", "-c", "a && b"]',
        # Overridden: only the last CMD counts.
        'CMD service nginx start && sleep infinity\nCMD ["nginx", "-g", "daemon off;"]',
        # A shell-form ENTRYPOINT ignores CMD.
        "ENTRYPOINT exec ./server\nCMD tail -f /dev/null",
        "RUN service mysql start && ./seed & sleep 1",
        "HEALTHCHECK CMD curl -f http://localhost/ & true",
    ],
)
def test_foreground_commands_pass(instructions: str) -> None:
    assert _background(f"FROM x\n{instructions}\n") == []


def test_only_the_final_stage_counts_and_parents_pass_their_command_down() -> None:
    assert _background('FROM a AS build\nCMD x &\nFROM b\nCMD ["y"]\n') == []
    [inherited] = _background("FROM a AS base\nCMD x &\nFROM base\nRUN true\n")
    assert inherited.line == 2
    # An ENTRYPOINT in the child resets the CMD of the parent stage.
    assert _background('FROM a AS base\nCMD x &\nFROM base\nENTRYPOINT ["y"]\n') == []


def test_entrypoint_shell_with_cmd_as_script() -> None:
    text = (
        'FROM x\nENTRYPOINT ["bash", "-c"]\nCMD ["service cron start; exec apache2-foreground"]\n'
    )
    [finding] = _background(text)
    assert finding.line == 3 and "`cron` service" in finding.message


def test_process_managers_are_milder_and_can_be_allowed() -> None:
    [finding] = _background('FROM x\nCMD ["supervisord", "-n"]\n')
    assert "the manager restarts them" in finding.message
    assert _background('FROM x\nCMD ["supervisord", "-n"]\n', allow_process_managers=True) == []
    # Allowing managers does not hide a real background job next to one.
    text = "FROM x\nCMD supervisord -c /etc/s.conf & exec nginx -g 'daemon off;'\n"
    [mixed] = _background(text, allow_process_managers=True)
    assert "in the background" in mixed.message


def test_background_suggestion_and_no_fix() -> None:
    [finding] = _background("FROM x\nCMD service nginx start && php-fpm\n")
    assert finding.fix is None and finding.suggestion is not None
    assert "daemon off;" in finding.suggestion and "php-fpm" in finding.suggestion
    assert finding.severity == Severity.WARNING


def test_tokenizer_keeps_redirections_out_of_the_background_operator() -> None:
    def shape(text: str) -> list[tuple[list[str], str | None]]:
        return [(c.argv, c.after) for c in tokenize(text, range(len(text)))]

    assert shape("a 2>&1") == [(["a", "2>&1"], None)]
    assert shape("a >&2; b") == [(["a", ">&2"], ";"), (["b"], None)]
    assert shape("a &> log & b") == [(["a", "&>", "log"], "&"), (["b"], None)]
    assert shape("a &>>log && b") == [(["a", "&>>log"], "&&"), (["b"], None)]
    assert shape("a <&3 &") == [(["a", "<&3"], "&")]

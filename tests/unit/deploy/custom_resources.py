"""Our own small schemas for the operators' custom resources (their CRDs are not in the Kubernetes schemas).

They check what a typo or a wrong version would break: apiVersion, kind, name, and the fields the RabbitMQ
Cluster Operator (rabbitmq.com/v1beta1 RabbitmqCluster) and CloudNativePG (postgresql.cnpg.io/v1 Cluster,
ScheduledBackup) need from us, with their types, per the operators' published API references.
"""

from __future__ import annotations

from typing import Any

QUANTITY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"}
RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "requests": {"type": "object", "propertyNames": {"enum": ["cpu", "memory"]}, "additionalProperties": QUANTITY},
        "limits": {"type": "object", "propertyNames": {"enum": ["cpu", "memory"]}, "additionalProperties": QUANTITY},
    },
}
SECRET_REF = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1}},
}
SECRET_KEY_REF = {
    "type": "object",
    "required": ["name", "key"],
    "additionalProperties": False,
    "properties": {"name": {"type": "string", "minLength": 1}, "key": {"type": "string", "minLength": 1}},
}


def _resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                    "namespace": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "spec": spec,
        },
    }


RABBITMQ_CLUSTER = _resource(
    "rabbitmq.com/v1beta1",
    "RabbitmqCluster",
    {
        "type": "object",
        "required": ["replicas"],
        "additionalProperties": False,
        "properties": {
            "replicas": {"type": "integer", "minimum": 1},
            "image": {"type": "string"},
            "resources": RESOURCES,
            "persistence": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"storage": QUANTITY, "storageClassName": {"type": "string"}},
            },
            "rabbitmq": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "additionalConfig": {"type": "string"},
                    "additionalPlugins": {"type": "array", "items": {"type": "string"}},
                    "advancedConfig": {"type": "string"},
                },
            },
            "service": {"type": "object"},
            "override": {"type": "object"},
            "affinity": {"type": "object"},
            "tolerations": {"type": "array"},
            "terminationGracePeriodSeconds": {"type": "integer"},
        },
    },
)

POSTGRES_CLUSTER = _resource(
    "postgresql.cnpg.io/v1",
    "Cluster",
    {
        "type": "object",
        "required": ["instances", "storage"],
        "additionalProperties": False,
        "properties": {
            "instances": {"type": "integer", "minimum": 1},
            # Synchronous replicas (CloudNativePG's quorum-based replication); both below `instances`.
            "minSyncReplicas": {"type": "integer", "minimum": 0},
            "maxSyncReplicas": {"type": "integer", "minimum": 0},
            "imageName": {"type": "string"},
            "primaryUpdateStrategy": {"enum": ["unsupervised", "supervised"]},
            "storage": {
                "type": "object",
                "required": ["size"],
                "properties": {"size": QUANTITY, "storageClass": {"type": "string"}},
            },
            "resources": RESOURCES,
            "postgresql": {
                "type": "object",
                "properties": {"parameters": {"type": "object", "additionalProperties": {"type": "string"}}},
            },
            "bootstrap": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "initdb": {
                        "type": "object",
                        "required": ["database", "owner"],
                        "properties": {
                            "database": {"type": "string"},
                            "owner": {"type": "string"},
                            "postInitApplicationSQL": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "recovery": {"type": "object"},
                },
            },
            "managed": {
                "type": "object",
                "properties": {
                    "roles": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": {"type": "string"},
                                "ensure": {"enum": ["present", "absent"]},
                                "login": {"type": "boolean"},
                                "passwordSecret": SECRET_REF,
                            },
                        },
                    }
                },
            },
            "affinity": {
                "type": "object",
                "properties": {
                    "enablePodAntiAffinity": {"type": "boolean"},
                    "topologyKey": {"type": "string"},
                    "podAntiAffinityType": {"enum": ["preferred", "required"]},
                },
            },
            "monitoring": {"type": "object", "properties": {"enablePodMonitor": {"type": "boolean"}}},
            "backup": {
                "type": "object",
                "properties": {
                    "retentionPolicy": {"type": "string", "pattern": r"^[1-9][0-9]*[dwm]$"},
                    "barmanObjectStore": {
                        "type": "object",
                        "required": ["destinationPath"],
                        "properties": {
                            "destinationPath": {"type": "string"},
                            "s3Credentials": {
                                "type": "object",
                                "properties": {"accessKeyId": SECRET_KEY_REF, "secretAccessKey": SECRET_KEY_REF},
                            },
                        },
                    },
                },
            },
        },
    },
)

SCHEDULED_BACKUP = _resource(
    "postgresql.cnpg.io/v1",
    "ScheduledBackup",
    {
        "type": "object",
        "required": ["schedule", "cluster"],
        "additionalProperties": False,
        "properties": {
            # CloudNativePG's schedule has six fields: seconds first.
            "schedule": {"type": "string", "pattern": r"^\S+( \S+){5}$"},
            "backupOwnerReference": {"enum": ["none", "self", "cluster"]},
            "immediate": {"type": "boolean"},
            "cluster": SECRET_REF,
        },
    },
)

CUSTOM_RESOURCE_SCHEMAS: dict[str, dict[str, Any]] = {
    "RabbitmqCluster": RABBITMQ_CLUSTER,
    "Cluster": POSTGRES_CLUSTER,
    "ScheduledBackup": SCHEDULED_BACKUP,
}

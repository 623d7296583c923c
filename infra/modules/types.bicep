metadata description = 'Types shared by the namestream modules.'

@export()
@description('A built-in role to grant a principal on the resource a module deploys.')
type roleAssignmentType = {
  @description('Required. Object id of the principal (a managed identity or a user).')
  principalId: string

  @description('Optional. Kind of principal: a managed identity is a ServicePrincipal. Leave it out for the deploying developer, who may be a user or (in CI) a service principal: Azure then looks the principal up itself.')
  principalType: ('ServicePrincipal' | 'User')?

  @description('Required. Name of a built-in role listed in infra/built-in-roles.json.')
  roleName: string
}

@export()
@description('A Cosmos DB built-in data role to grant a principal, at the account or the database scope.')
type cosmosRoleAssignmentType = {
  @description('Required. Object id of the principal.')
  principalId: string

  @description('Required. Name of a Cosmos DB data role listed in infra/built-in-roles.json.')
  roleName: string

  @description('Required. Where the role applies: the whole account, or the database this module creates.')
  scope: ('account' | 'database')
}

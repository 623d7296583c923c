metadata description = 'Types shared by the namestream modules.'

@export()
@description('A built-in role to grant a principal on the resource a module deploys.')
type roleAssignmentType = {
  @description('Required. Object id of the principal (a managed identity or a user).')
  principalId: string

  @description('Required. Kind of principal: a managed identity is a ServicePrincipal; the deploying developer is a User.')
  principalType: ('ServicePrincipal' | 'User')

  @description('Required. Name of a built-in role listed in infra/built-in-roles.json.')
  roleName: string
}
